// chart-render renders a Helm chart the way `helm template` does, for tests on machines without
// helm: the same engine (Go text/template + sprig) and the objects Helm adds (.Values merged from
// -f files and --set, .Release, .Chart, .Capabilities, .Template, .Files; include, tpl, required,
// fail, toYaml, fromYaml...). It implements what charts commonly use, not all of Helm.
//
// Usage: chart-render [-f values.yaml]... [--set a.b=c]... [--name R] [--namespace N]
//
//	[--api-versions group/version]... [--notes] [--values-json FILE] CHART_DIR
//
// Writes every rendered manifest to stdout, each preceded by "---\n# Source: chart/templates/F",
// as helm does. Exits 1 with helm's "execution error at (...): msg" text when a template fails.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	yaml2 "gopkg.in/yaml.v2"
	yaml3 "gopkg.in/yaml.v3"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	var valueFiles, sets, apiVersions multiFlag
	flag.Var(&valueFiles, "f", "values file (repeatable; later files win)")
	flag.Var(&valueFiles, "values", "same as -f")
	flag.Var(&sets, "set", "a.b.c=value (repeatable)")
	flag.Var(&apiVersions, "api-versions", "extra API version in .Capabilities.APIVersions (repeatable)")
	name := flag.String("name", "release-name", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	kubeVersion := flag.String("kube-version", "v1.29.0", "Kubernetes version in .Capabilities")
	notes := flag.Bool("notes", false, "also print NOTES.txt")
	valuesJSON := flag.String("values-json", "", "write the merged values as JSON to this file")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: chart-render [flags] CHART_DIR")
		os.Exit(2)
	}
	out, err := render(flag.Arg(0), options{
		valueFiles: valueFiles, sets: sets, apiVersions: apiVersions, release: *name,
		namespace: *namespace, kubeVersion: *kubeVersion, notes: *notes, valuesJSON: *valuesJSON,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
	os.Stdout.WriteString(out)
}

type options struct {
	valueFiles, sets, apiVersions []string
	release, namespace            string
	kubeVersion                   string
	notes                         bool
	valuesJSON                    string
}

// ---- values --------------------------------------------------------------------------------

// readYAML decodes YAML the way Helm does (YAML -> JSON -> Go), so numbers are float64 as in Helm.
func readYAML(data []byte) (map[string]interface{}, error) {
	var raw interface{}
	if err := yaml3.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	j, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	var out interface{}
	if err := json.Unmarshal(j, &out); err != nil {
		return nil, err
	}
	m, ok := out.(map[string]interface{})
	if !ok {
		return nil, errors.New("values document is not a map")
	}
	return m, nil
}

// merge overlays src on dst like Helm's coalescing: maps merge recursively, null deletes a key.
func merge(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sok := v.(map[string]interface{})
		dm, dok := dst[k].(map[string]interface{})
		if sok && dok {
			dst[k] = merge(dm, sm)
		} else {
			dst[k] = v
		}
	}
	return dst
}

func parseSetValue(s string) interface{} {
	switch s {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return float64(i)
	}
	return s
}

func applySet(values map[string]interface{}, expr string) error {
	eq := strings.Index(expr, "=")
	if eq <= 0 {
		return fmt.Errorf("--set %q: want key=value", expr)
	}
	keys := strings.Split(expr[:eq], ".")
	m := values
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = parseSetValue(expr[eq+1:])
	return nil
}

// ---- .Files --------------------------------------------------------------------------------

// Files is Helm's .Files: every chart file outside templates/, by slash path.
type Files map[string][]byte

func (f Files) Get(name string) string      { return string(f[name]) }
func (f Files) GetBytes(name string) []byte { return f[name] }

func (f Files) Glob(pattern string) Files {
	out := Files{}
	for name, data := range f {
		if ok, _ := globMatch(pattern, name); ok {
			out[name] = data
		}
	}
	return out
}

// globMatch is path.Match plus "**" for any number of directories.
func globMatch(pattern, name string) (bool, error) {
	if !strings.Contains(pattern, "**") {
		return path.Match(pattern, name)
	}
	re := "^" + regexp.QuoteMeta(pattern) + "$"
	re = strings.ReplaceAll(re, `\*\*/`, `(.*/)?`)
	re = strings.ReplaceAll(re, `\*\*`, `.*`)
	re = strings.ReplaceAll(re, `\*`, `[^/]*`)
	re = strings.ReplaceAll(re, `\?`, `[^/]`)
	return regexp.MatchString(re, name)
}

func (f Files) AsConfig() string {
	if len(f) == 0 {
		return ""
	}
	m := map[string]string{}
	for k, v := range f {
		m[path.Base(k)] = string(v)
	}
	return toYAML(m)
}

func (f Files) AsSecrets() string {
	if len(f) == 0 {
		return ""
	}
	m := map[string]string{}
	for k, v := range f {
		m[path.Base(k)] = encodeBase64(v)
	}
	return toYAML(m)
}

func (f Files) Lines(name string) []string {
	s := string(f[name])
	if s == "" {
		return []string{}
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// ---- .Capabilities -------------------------------------------------------------------------

type APIVersions []string

func (a APIVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

type KubeVersion struct{ Version, Major, Minor, GitVersion string }

func (k KubeVersion) String() string { return k.Version }

type Capabilities struct {
	APIVersions APIVersions
	KubeVersion KubeVersion
	HelmVersion map[string]string
}

// ---- YAML helpers as Helm defines them -----------------------------------------------------

func toYAML(v interface{}) string {
	j, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var obj interface{}
	if err := yaml2.Unmarshal(j, &obj); err != nil {
		return ""
	}
	y, err := yaml2.Marshal(obj)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(y), "\n")
}

func fromYAML(s string) map[string]interface{} {
	m, err := readYAML([]byte(s))
	if err != nil {
		return map[string]interface{}{"Error": err.Error()}
	}
	return m
}

func fromYAMLArray(s string) []interface{} {
	var raw interface{}
	if err := yaml3.Unmarshal([]byte(s), &raw); err != nil {
		return []interface{}{err.Error()}
	}
	j, _ := json.Marshal(raw)
	var out []interface{}
	if err := json.Unmarshal(j, &out); err != nil {
		return []interface{}{err.Error()}
	}
	return out
}

func toJSON(v interface{}) string {
	j, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(j)
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

func encodeBase64(b []byte) string {
	return sprig.TxtFuncMap()["b64enc"].(func(string) string)(string(b))
}

// ---- rendering -----------------------------------------------------------------------------

type engine struct {
	tmpl *template.Template
}

// execError turns text/template's "template: NAME:L:C: executing ... error calling X: MSG" into
// Helm's "execution error at (NAME:L:C): MSG".
var execErrRe = regexp.MustCompile(`^template: (.*?): executing "[^"]*" at <[^>]*>: error calling \w+: (.*)$`)

func helmError(err error) error {
	s := err.Error()
	// Errors from nested include calls wrap the inner one; report the innermost.
	for {
		m := execErrRe.FindStringSubmatch(s)
		if m == nil {
			break
		}
		if inner := execErrRe.FindStringSubmatch(m[2]); inner != nil {
			s = m[2]
			continue
		}
		return fmt.Errorf("execution error at (%s): %s", m[1], m[2])
	}
	return err
}

func (e *engine) funcs() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env")
	delete(f, "expandenv")
	f["toYaml"] = toYAML
	f["fromYaml"] = fromYAML
	f["fromYamlArray"] = fromYAMLArray
	f["toJson"] = toJSON
	f["fromJson"] = fromJSON
	f["toToml"] = func(interface{}) string { return "" }
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	f["fail"] = func(msg string) (string, error) { return "", errors.New(msg) }
	f["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	f["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		if err := e.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := e.tmpl.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Option("missingkey=zero").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	return f
}

func loadChart(dir string) (meta map[string]interface{}, templates map[string]string, files Files, err error) {
	chartYAML, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return nil, nil, nil, err
	}
	raw, err := readYAML(chartYAML)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("Chart.yaml: %w", err)
	}
	// Helm exposes Chart.yaml fields with capitalised names (.Chart.Name, .Chart.AppVersion).
	meta = map[string]interface{}{}
	for k, v := range raw {
		meta[strings.ToUpper(k[:1])+k[1:]] = v
	}
	templates = map[string]string{}
	files = Files{}
	err = filepath.Walk(dir, func(p string, info os.FileInfo, werr error) error {
		if werr != nil {
			return werr
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if info.IsDir() {
			return nil
		}
		data, rerr := os.ReadFile(p)
		if rerr != nil {
			return rerr
		}
		if strings.HasPrefix(rel, "templates/") {
			templates[rel] = string(data)
		} else {
			files[rel] = data
		}
		return nil
	})
	return meta, templates, files, err
}

func render(dir string, o options) (string, error) {
	meta, templates, files, err := loadChart(dir)
	if err != nil {
		return "", err
	}
	chartName, _ := meta["Name"].(string)

	values, err := readYAML(files["values.yaml"])
	if err != nil {
		return "", fmt.Errorf("values.yaml: %w", err)
	}
	for _, vf := range o.valueFiles {
		data, err := os.ReadFile(vf)
		if err != nil {
			return "", err
		}
		overlay, err := readYAML(data)
		if err != nil {
			return "", fmt.Errorf("%s: %w", vf, err)
		}
		values = merge(values, overlay)
	}
	for _, s := range o.sets {
		if err := applySet(values, s); err != nil {
			return "", err
		}
	}
	if o.valuesJSON != "" {
		j, _ := json.MarshalIndent(values, "", "  ")
		if err := os.WriteFile(o.valuesJSON, j, 0o644); err != nil {
			return "", err
		}
	}

	kv := strings.TrimPrefix(o.kubeVersion, "v")
	parts := strings.SplitN(kv, ".", 3)
	for len(parts) < 2 {
		parts = append(parts, "0")
	}
	apis := APIVersions{"v1", "apps/v1", "batch/v1", "networking.k8s.io/v1", "policy/v1",
		"rbac.authorization.k8s.io/v1", "autoscaling/v2"}
	apis = append(apis, o.apiVersions...)
	caps := Capabilities{
		APIVersions: apis,
		KubeVersion: KubeVersion{Version: "v" + kv, Major: parts[0], Minor: parts[1], GitVersion: "v" + kv},
		HelmVersion: map[string]string{"Version": "v3.14.0"},
	}
	release := map[string]interface{}{
		"Name": o.release, "Namespace": o.namespace, "Service": "Helm",
		"IsInstall": true, "IsUpgrade": false, "Revision": 1,
	}

	e := &engine{}
	e.tmpl = template.New("gotpl").Option("missingkey=zero").Funcs(e.funcs())
	names := make([]string, 0, len(templates))
	for n := range templates {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := e.tmpl.New(chartName + "/" + n).Parse(templates[n]); err != nil {
			return "", fmt.Errorf("parse error in %s: %w", n, err)
		}
	}

	var out strings.Builder
	var notesText string
	for _, n := range names {
		base := path.Base(n)
		if strings.HasPrefix(base, "_") {
			continue
		}
		isNotes := n == "templates/NOTES.txt"
		if !isNotes && !strings.HasSuffix(base, ".yaml") && !strings.HasSuffix(base, ".yml") &&
			!strings.HasSuffix(base, ".tpl") {
			continue
		}
		if strings.HasSuffix(base, ".tpl") {
			continue
		}
		full := chartName + "/" + n
		data := map[string]interface{}{
			"Values": values, "Release": release, "Chart": meta, "Capabilities": caps,
			"Files":    files,
			"Template": map[string]interface{}{"Name": full, "BasePath": chartName + "/templates"},
		}
		var buf bytes.Buffer
		if err := e.tmpl.ExecuteTemplate(&buf, full, data); err != nil {
			return "", helmError(err)
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if isNotes {
			notesText = text
			continue
		}
		// Like helm: split multi-document output, drop empty documents.
		for _, doc := range splitDocs(text) {
			out.WriteString("---\n# Source: " + full + "\n" + doc + "\n")
		}
	}
	if o.notes {
		out.WriteString("\nNOTES:\n" + notesText)
	}
	return out.String(), nil
}

var sepRe = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)

func splitDocs(text string) []string {
	var docs []string
	for _, d := range sepRe.Split(text, -1) {
		if strings.TrimSpace(stripComments(d)) == "" {
			continue
		}
		docs = append(docs, strings.Trim(d, "\n"))
	}
	return docs
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}
