package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValuesAreReadAsHelmDoes(t *testing.T) {
	v, err := readYAML([]byte("a: 1\nb: {c: [x, 2]}\nd: null\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := v["a"].(float64); !ok {
		t.Errorf("numbers must be float64 as in Helm, got %T", v["a"])
	}
	if got := toYAML(v["b"]); got != "c:\n- x\n- 2" {
		t.Errorf("toYaml: %q", got)
	}
}

func TestMergeOverlaysAndNullDeletes(t *testing.T) {
	base, _ := readYAML([]byte("a: {x: 1, y: 2}\nb: [1]\nc: keep\n"))
	over, _ := readYAML([]byte("a: {y: 3, z: 4}\nb: [2, 3]\nc: null\n"))
	m := merge(base, over)
	a := m["a"].(map[string]interface{})
	if a["x"] != 1.0 || a["y"] != 3.0 || a["z"] != 4.0 {
		t.Errorf("maps merge recursively: %v", a)
	}
	if len(m["b"].([]interface{})) != 2 {
		t.Errorf("lists replace: %v", m["b"])
	}
	if _, ok := m["c"]; ok {
		t.Errorf("null deletes a key")
	}
}

func TestSet(t *testing.T) {
	v := map[string]interface{}{}
	for _, s := range []string{"a.b=3", "a.c=true", "d=text"} {
		if err := applySet(v, s); err != nil {
			t.Fatal(err)
		}
	}
	a := v["a"].(map[string]interface{})
	if a["b"] != 3.0 || a["c"] != true || v["d"] != "text" {
		t.Errorf("--set: %v", v)
	}
	if applySet(v, "novalue") == nil {
		t.Errorf("--set without = must fail")
	}
}

func TestGlob(t *testing.T) {
	f := Files{"files/dashboards/a.json": nil, "files/dashboards/sub/b.json": nil, "files/rules/r.yaml": nil}
	if got := len(f.Glob("files/dashboards/*.json")); got != 1 {
		t.Errorf("* stays in one folder: %d", got)
	}
	if got := len(f.Glob("files/**/*.json")); got != 2 {
		t.Errorf("** crosses folders: %d", got)
	}
}

func writeChart(t *testing.T, templates map[string]string) string {
	dir := t.TempDir()
	files := map[string]string{
		"Chart.yaml":  "apiVersion: v2\nname: demo\nversion: 1.0.0\nappVersion: \"2.0\"\n",
		"values.yaml": "name: \"\"\nlist: [a, b]\n",
		"files/x.txt": "hello",
	}
	for k, v := range templates {
		files["templates/"+k] = v
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRenderLikeHelm(t *testing.T) {
	dir := writeChart(t, map[string]string{
		"_h.tpl": `{{- define "demo.n" -}}{{ .Chart.Name }}-{{ .Release.Name }}{{- end }}`,
		"a.yaml": "name: {{ include \"demo.n\" . }}\nfile: {{ .Files.Get \"files/x.txt\" }}\n" +
			"tpl: {{ tpl \"{{ .Chart.AppVersion }}\" . }}\nmissing: '{{ .Values.nope }}'\n" +
			"tmpl: {{ .Template.Name }}\nkube: {{ .Capabilities.KubeVersion.Minor }}\n" +
			"---\n# only a comment\n",
		"NOTES.txt": "notes for {{ .Release.Name }}",
	})
	out, err := render(dir, options{release: "r", namespace: "ns", kubeVersion: "v1.29.0", notes: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Source: demo/templates/a.yaml\n", "name: demo-r\n", "file: hello\n",
		"tpl: 2.0\n", "missing: ''\n", "tmpl: demo/templates/a.yaml\n", "kube: 29\n", "NOTES:\nnotes for r"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "# Source:") != 1 {
		t.Errorf("an empty document must be dropped:\n%s", out)
	}
}

func TestRequiredFailsWithHelmsMessage(t *testing.T) {
	dir := writeChart(t, map[string]string{
		"_h.tpl": `{{- define "demo.need" -}}{{ required "name is required" .Values.name }}{{- end }}`,
		"a.yaml": "x: {{ include \"demo.need\" . }}\n",
	})
	_, err := render(dir, options{release: "r", namespace: "ns", kubeVersion: "v1.29.0"})
	if err == nil || !strings.HasPrefix(err.Error(), "execution error at (demo/templates/_h.tpl:1:") ||
		!strings.HasSuffix(err.Error(), "): name is required") {
		t.Errorf("want helm's execution error naming the innermost template, got %v", err)
	}
	dir = writeChart(t, map[string]string{"a.yaml": "{{ fail \"stop here\" }}"})
	if _, err := render(dir, options{kubeVersion: "v1.29.0"}); err == nil || !strings.HasSuffix(err.Error(), "stop here") {
		t.Errorf("fail: %v", err)
	}
}
