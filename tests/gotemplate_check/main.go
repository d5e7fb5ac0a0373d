// Command gotemplate_check evaluates Go templates the way istiod's injector does, for the cross-check of meshctl's
// Python evaluator (meshctl/gotemplate.py). It reads a JSON corpus on stdin and writes one result per case.
//
// Input: {"cases": [{"name": ..., "template": ..., "text": ..., "data": <value>}]}, where a value is JSON with
// type tags that keep what Go needs to know and JSON loses:
//
//	{"$struct": {"type": T, "fields": [[name, value], ...], "json": J}}  a struct (fields of type any) whose
//	                                                                     JSON form (toJson, protoToJSON) is the text J
//	{"$strmap": {...}}   map[string]string          {"$map": {...}}   map[string]any
//	{"$list": [...]}     []any                      {"$int": n}       int
//	{"$float": x}        float64                    strings, booleans and null as they are
//
// Output: {"results": [{"name": ..., "output": ..., "error": ...}]}.
//
// The template functions are sprig's (github.com/Masterminds/sprig/v3, as istiod registers them) and Go versions,
// written for this check, of istiod's own injection functions that the templates call.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

type input struct {
	Cases []struct {
		Name     string          `json:"name"`
		Template string          `json:"template"`
		Text     string          `json:"text"`
		Data     json.RawMessage `json:"data"`
	} `json:"cases"`
}

type result struct {
	Name   string `json:"name"`
	Output string `json:"output"`
	Error  string `json:"error,omitempty"`
}

// jsonForms holds the JSON form of each decoded struct, by its pointer.
var jsonForms = map[any]json.RawMessage{}

func decode(raw json.RawMessage) (any, error) {
	var generic any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, err
	}
	return build(generic)
}

func build(v any) (any, error) {
	switch t := v.(type) {
	case nil, string, bool:
		return t, nil
	case []any:
		return nil, fmt.Errorf("untagged list %v", t)
	case json.Number:
		return nil, fmt.Errorf("untagged number %v", t)
	case map[string]any:
		if len(t) != 1 {
			return nil, fmt.Errorf("a tagged value has one key, got %v", t)
		}
		for tag, body := range t {
			return buildTagged(tag, body)
		}
	}
	return nil, fmt.Errorf("cannot decode %T", v)
}

func buildTagged(tag string, body any) (any, error) {
	switch tag {
	case "$int":
		n, err := body.(json.Number).Int64()
		return int(n), err
	case "$float":
		return body.(json.Number).Float64()
	case "$strmap":
		out := map[string]string{}
		for k, v := range body.(map[string]any) {
			out[k] = v.(string)
		}
		return out, nil
	case "$map":
		out := map[string]any{}
		for k, v := range body.(map[string]any) {
			value, err := build(v)
			if err != nil {
				return nil, err
			}
			out[k] = value
		}
		return out, nil
	case "$list":
		out := []any{}
		for _, v := range body.([]any) {
			value, err := build(v)
			if err != nil {
				return nil, err
			}
			out = append(out, value)
		}
		return out, nil
	case "$struct":
		return buildStruct(body.(map[string]any))
	}
	return nil, fmt.Errorf("unknown tag %s", tag)
}

func buildStruct(body map[string]any) (any, error) {
	pairs := body["fields"].([]any)
	fields := make([]reflect.StructField, 0, len(pairs))
	values := make([]any, 0, len(pairs))
	anyType := reflect.TypeOf((*any)(nil)).Elem()
	for _, p := range pairs {
		pair := p.([]any)
		value, err := build(pair[1])
		if err != nil {
			return nil, err
		}
		fields = append(fields, reflect.StructField{Name: pair[0].(string), Type: anyType})
		values = append(values, value)
	}
	ptr := reflect.New(reflect.StructOf(fields))
	for i, value := range values {
		if value != nil {
			ptr.Elem().Field(i).Set(reflect.ValueOf(value))
		}
	}
	out := ptr.Interface()
	if form, ok := body["json"].(string); ok {
		jsonForms[out] = json.RawMessage(form)
	}
	return out, nil
}

// plain replaces structs by their JSON form, so that encoding/json writes what Kubernetes' types would.
func plain(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, value := range t {
			out[k] = plain(value)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, value := range t {
			out[i] = plain(value)
		}
		return out
	}
	if v != nil && reflect.TypeOf(v).Kind() == reflect.Pointer {
		if form, ok := jsonForms[v]; ok {
			return form
		}
	}
	return v
}

func field(v any, name string) reflect.Value {
	value := reflect.ValueOf(v)
	for value.Kind() == reflect.Pointer || value.Kind() == reflect.Interface {
		value = value.Elem()
	}
	return value.FieldByName(name)
}

// istiod's injection functions, as the templates call them.
func istiodFuncs() template.FuncMap {
	return template.FuncMap{
		"annotation": func(meta any, name string, defaultValue any) string {
			annotations, _ := field(meta, "Annotations").Interface().(map[string]string)
			if value, ok := annotations[name]; ok {
				return value
			}
			return fmt.Sprint(defaultValue)
		},
		"isset": func(m map[string]string, key string) bool {
			_, ok := m[key]
			return ok
		},
		"valueOrDefault": func(value any, defaultValue any) any {
			if value == "" || value == nil {
				return defaultValue
			}
			return value
		},
		"toYaml": func(value any) string {
			out, err := yaml.Marshal(plain(value))
			if err != nil {
				return ""
			}
			return string(out)
		},
		"toJson": func(value any) string {
			out, _ := json.Marshal(plain(value))
			return string(out)
		},
		"protoToJSON": func(message any) (string, error) {
			form, ok := jsonForms[message]
			if !ok {
				return "", fmt.Errorf("not a message")
			}
			var out bytes.Buffer
			if err := json.Compact(&out, form); err != nil {
				return "", err
			}
			var escaped bytes.Buffer
			json.HTMLEscape(&escaped, out.Bytes())
			return escaped.String(), nil
		},
		"fromJSON": func(text string) any {
			var out any
			if err := json.Unmarshal([]byte(text), &out); err != nil {
				return "{}"
			}
			return out
		},
		"toLower": strings.ToLower,
		"appendMultusNetwork": func(existing, network string) string {
			if existing == "" {
				return network
			}
			if i := strings.LastIndex(existing, "]"); i != -1 {
				entries := []map[string]any{}
				if err := json.Unmarshal([]byte(existing), &entries); err != nil {
					return existing
				}
				for _, entry := range entries {
					if entry["name"] == network {
						return existing
					}
				}
				return existing[:i] + fmt.Sprintf(`, {"name": "%s"}]`, network)
			}
			for _, part := range strings.Split(existing, ",") {
				if strings.TrimSpace(part) == network {
					return existing
				}
			}
			return existing + ", " + network
		},
	}
}

func run(name, text string, raw json.RawMessage) (string, error) {
	data, err := decode(raw)
	if err != nil {
		return "", fmt.Errorf("decode data: %w", err)
	}
	tmpl, err := template.New(name).Funcs(sprig.TxtFuncMap()).Funcs(istiodFuncs()).Parse(text)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, data); err != nil {
		return "", err
	}
	return out.String(), nil
}

func main() {
	body, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var in input
	if err := json.Unmarshal(body, &in); err != nil {
		fmt.Fprintln(os.Stderr, "read corpus:", err)
		os.Exit(1)
	}
	results := make([]result, 0, len(in.Cases))
	for _, c := range in.Cases {
		output, err := run(c.Template, c.Text, c.Data)
		r := result{Name: c.Name, Output: output}
		if err != nil {
			r.Error = err.Error()
		}
		results = append(results, r)
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(map[string]any{"results": results}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
