package api

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/b7s-actor/b7s/messages"
)

//go:embed openapi.yaml
var openAPIYAML []byte

// The parts of an OpenAPI 3 document the checks below read.
type openAPIDoc struct {
	OpenAPI    string                          `yaml:"openapi"`
	Paths      map[string]map[string]operation `yaml:"paths"`
	Components struct {
		Schemas   map[string]*schema  `yaml:"schemas"`
		Responses map[string]response `yaml:"responses"`
	} `yaml:"components"`
}

type operation struct {
	Parameters  []parameter `yaml:"parameters"`
	RequestBody *struct {
		Content map[string]mediaType `yaml:"content"`
	} `yaml:"requestBody"`
	Responses map[string]response `yaml:"responses"`
}

type parameter struct {
	Name   string `yaml:"name"`
	In     string `yaml:"in"`
	Schema schema `yaml:"schema"`
}

type response struct {
	Ref         string               `yaml:"$ref"`
	Description string               `yaml:"description"`
	Content     map[string]mediaType `yaml:"content"`
}

type mediaType struct {
	Schema schema `yaml:"schema"`
}

type schema struct {
	Ref                  string             `yaml:"$ref"`
	Type                 string             `yaml:"type"`
	Properties           map[string]*schema `yaml:"properties"`
	Required             []string           `yaml:"required"`
	Items                *schema            `yaml:"items"`
	AdditionalProperties *schema            `yaml:"additionalProperties"`
	Enum                 []any              `yaml:"enum"`
	Description          string             `yaml:"description"`
}

const schemaRefPrefix = "#/components/schemas/"

func loadOpenAPI(t *testing.T) *openAPIDoc {
	t.Helper()
	// Keys not modelled here (descriptions, examples) are ignored. A misspelt "properties"
	// still fails: the object would then have no properties to match the JSON keys.
	var doc openAPIDoc
	if err := yaml.Unmarshal(openAPIYAML, &doc); err != nil {
		t.Fatalf("parse openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi.yaml: version %q, want 3.x", doc.OpenAPI)
	}
	return &doc
}

func TestOpenAPI_DocumentsExactlyTheServedRoutes(t *testing.T) {
	doc := loadOpenAPI(t)

	var served, documented []string
	for _, rt := range routes(DefaultConfig(), Deps{Gatherer: prometheus.NewRegistry()}) {
		served = append(served, rt.method+" "+rt.path)
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	sort.Strings(served)
	sort.Strings(documented)
	if !slices.Equal(served, documented) {
		t.Fatalf("served and documented routes differ\nserved:     %v\ndocumented: %v", served, documented)
	}

	// The text variant of /debug/actors is a query parameter, not a path of its own.
	actors := doc.Paths["/debug/actors"]["get"]
	hasFormat := slices.ContainsFunc(actors.Parameters, func(p parameter) bool {
		return p.Name == "format" && p.In == "query" && slices.Contains(p.Schema.Enum, any("text"))
	})
	if !hasFormat {
		t.Errorf("/debug/actors: no query parameter format with value text")
	}
	for _, ct := range []string{"application/json", "text/plain"} {
		if _, ok := actors.Responses["200"].Content[ct]; !ok {
			t.Errorf("/debug/actors: 200 has no %s content", ct)
		}
	}
}

// The document states the REST door's limits with the values the code enforces: every body path
// answers 413 and 400, the body and depth limits are the constants, the timeout's bound is the
// default setting, and consensus_algorithm lists what messages accepts.
func TestOpenAPI_StatesTheLimits(t *testing.T) {
	doc := loadOpenAPI(t)
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if op.RequestBody == nil {
				continue
			}
			for status, ref := range map[string]string{"400": "BadRequest", "413": "TooLarge"} {
				if got := op.Responses[status].Ref; got != "#/components/responses/"+ref {
					t.Errorf("%s %s: %s is %q, want the %s response", method, path, status, got, ref)
				}
			}
		}
	}
	mentions := func(where, text string, want ...string) {
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: %q does not state %q", where, text, w)
			}
		}
	}
	mentions("responses.TooLarge", doc.Components.Responses["TooLarge"].Description, strconv.Itoa(MaxBodyBytes)+" bytes")
	mentions("responses.BadRequest", doc.Components.Responses["BadRequest"].Description, strconv.Itoa(MaxJSONDepth)+" levels")

	config := doc.Components.Schemas["Config"]
	mentions("Config.timeout", config.Properties["timeout"].Description, "head.max-request-timeout",
		fmt.Sprintf("default %d", int(DefaultConfig().MaxRequestTimeout/time.Second)))
	var enum []string
	for _, v := range config.Properties["consensus_algorithm"].Enum {
		enum = append(enum, fmt.Sprint(v))
	}
	if want := messages.ConsensusAlgorithms(); !slices.Equal(enum, want) {
		t.Errorf("Config.consensus_algorithm enum %q, want %q", enum, want)
	}
}

// jsonBodies are the Go values behind each JSON body schema, every field set so that no
// omitempty key is missing. Health is the value the node serves: it never carries a trace.
func jsonBodies() map[string]any {
	return map[string]any{
		"ExecutionRequest":        populated[messages.ExecutionRequest](),
		"ExecutionResponse":       populated[messages.ExecutionResponse](),
		"InstallFunctionRequest":  populated[messages.InstallFunctionRequest](),
		"InstallFunctionResponse": populated[messages.InstallFunctionResponse](),
		"ResultRequest":           populated[messages.ResultRequest](),
		"ResultMap":               populated[messages.ResultMap](),
		"Error":                   populated[errorBody](),
		"Health":                  messages.NewHealthCheck(),
		"ActorTree":               populated[ActorTree](),
		"ActorMessages":           populated[ActorMessages](),
		"RequestTrace":            populated[RequestTrace](),
		"Probe":                   populated[Probe](),
	}
}

func TestOpenAPI_SchemasMatchTheGoJSON(t *testing.T) {
	doc := loadOpenAPI(t)
	bodies := jsonBodies()

	// Every JSON body the document names must be one of the checked values.
	for _, name := range jsonBodySchemas(t, doc) {
		if _, ok := bodies[name]; !ok {
			t.Errorf("schema %s is a JSON body but has no Go value to check it against", name)
		}
	}

	c := schemaChecker{t: t, doc: doc, visited: map[string]bool{}}
	for name, v := range bodies {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal %s: %v", name, err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber() // keeps 1 and 1.5 apart for the integer/number check
		var got any
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("decode %s: %v", name, err)
		}
		c.walk(name, &schema{Ref: schemaRefPrefix + name}, got, nil)
	}

	// A schema no body reaches is unchecked, and probably stale.
	for name := range doc.Components.Schemas {
		if !c.visited[name] {
			t.Errorf("schema %s is not reached from any checked body", name)
		}
	}
}

// jsonBodySchemas names the component schemas used directly as application/json bodies.
func jsonBodySchemas(t *testing.T, doc *openAPIDoc) []string {
	t.Helper()
	var names []string
	add := func(where string, content map[string]mediaType) {
		mt, ok := content["application/json"]
		if !ok {
			return
		}
		name, found := strings.CutPrefix(mt.Schema.Ref, schemaRefPrefix)
		if !found {
			t.Errorf("%s: JSON body schema is not a $ref to a component schema", where)
			return
		}
		names = append(names, name)
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			where := strings.ToUpper(method) + " " + path
			if op.RequestBody != nil {
				add(where+" request", op.RequestBody.Content)
			}
			for status, resp := range op.Responses {
				if ref, ok := strings.CutPrefix(resp.Ref, "#/components/responses/"); ok {
					resp, ok = doc.Components.Responses[ref]
					if !ok {
						t.Errorf("%s %s: unknown response %s", where, status, ref)
					}
				}
				add(where+" "+status, resp.Content)
			}
		}
	}
	return names
}

// schemaChecker walks a schema and a decoded JSON value side by side.
type schemaChecker struct {
	t       *testing.T
	doc     *openAPIDoc
	visited map[string]bool
}

// walk checks v against s. stack holds the $refs being walked, so that a recursive schema
// (ActorInfo.children) is checked once and not followed forever.
func (c schemaChecker) walk(at string, s *schema, v any, stack []string) {
	if s.Ref != "" {
		name, ok := strings.CutPrefix(s.Ref, schemaRefPrefix)
		target := c.doc.Components.Schemas[name]
		if !ok || target == nil {
			c.t.Errorf("%s: unresolved $ref %q", at, s.Ref)
			return
		}
		if slices.Contains(stack, name) {
			return
		}
		c.visited[name] = true
		c.walk(at, target, v, append(stack, name))
		return
	}

	switch s.Type {
	case "":
		// Any JSON (metadata).
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			c.t.Errorf("%s: schema says object, JSON has %T", at, v)
			return
		}
		c.walkObject(at, s, obj, stack)
	case "array":
		arr, ok := v.([]any)
		if !ok || len(arr) == 0 {
			c.t.Errorf("%s: schema says array, JSON has %T %v (want a populated array)", at, v, v)
			return
		}
		if s.Items == nil {
			c.t.Errorf("%s: array without items", at)
			return
		}
		for i, e := range arr {
			c.walk(at+"["+strconv.Itoa(i)+"]", s.Items, e, stack)
		}
	case "string":
		if _, ok := v.(string); !ok {
			c.t.Errorf("%s: schema says string, JSON has %T %v", at, v, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			c.t.Errorf("%s: schema says boolean, JSON has %T %v", at, v, v)
		}
	case "number", "integer":
		n, ok := v.(json.Number)
		if !ok {
			c.t.Errorf("%s: schema says %s, JSON has %T %v", at, s.Type, v, v)
			return
		}
		if s.Type == "integer" && strings.ContainsAny(n.String(), ".eE") {
			c.t.Errorf("%s: schema says integer, JSON has %s", at, n)
		}
	default:
		c.t.Errorf("%s: unknown schema type %q", at, s.Type)
	}
}

func (c schemaChecker) walkObject(at string, s *schema, obj map[string]any, stack []string) {
	for _, req := range s.Required {
		if _, ok := s.Properties[req]; !ok {
			c.t.Errorf("%s: required %q is not a property", at, req)
		}
	}
	if s.AdditionalProperties != nil {
		// A map keyed by peer ID (ResultMap, metadata): check every value.
		if len(obj) == 0 {
			c.t.Errorf("%s: map is empty; the Go value is not populated", at)
		}
		for k, e := range obj {
			c.walk(at+"["+k+"]", s.AdditionalProperties, e, stack)
		}
		return
	}
	var schemaKeys, jsonKeys []string
	for k := range s.Properties {
		schemaKeys = append(schemaKeys, k)
	}
	for k := range obj {
		jsonKeys = append(jsonKeys, k)
	}
	sort.Strings(schemaKeys)
	sort.Strings(jsonKeys)
	if !slices.Equal(schemaKeys, jsonKeys) {
		c.t.Errorf("%s: schema properties %v, JSON keys %v", at, schemaKeys, jsonKeys)
	}
	for k, sub := range s.Properties {
		if e, ok := obj[k]; ok {
			c.walk(at+"."+k, sub, e, stack)
		}
	}
}

// populated returns a T with every exported field set to a non-zero value, so that marshalling
// it writes every key the type can write.
func populated[T any]() T {
	var v T
	populate(reflect.ValueOf(&v).Elem(), map[reflect.Type]int{})
	return v
}

func populate(v reflect.Value, onStack map[reflect.Type]int) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2024, 11, 5, 10, 0, 0, 0, time.UTC)))
			return
		}
		// A recursive type (ActorInfo.children) is filled one level deep.
		if onStack[v.Type()] >= 2 {
			return
		}
		onStack[v.Type()]++
		defer func() { onStack[v.Type()]-- }()
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				populate(v.Field(i), onStack)
			}
		}
	case reflect.String:
		v.SetString("x")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5) // not integral, so an integer schema for it fails
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		populate(v.Elem(), onStack)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		populate(s.Index(0), onStack)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		key, elem := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		populate(key, onStack)
		populate(elem, onStack)
		m.SetMapIndex(key, elem)
		v.Set(m)
	case reflect.Interface:
		v.Set(reflect.ValueOf(map[string]any{"any": "json"}))
	}
}
