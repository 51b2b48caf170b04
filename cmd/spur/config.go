package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// clientEnv are the variables of the spur client commands, not worker keys.
var clientEnv = map[string]bool{"SPUR_URL": true, "SPUR_USER": true, "SPUR_PASSWORD": true, "SPUR_TOKEN": true}

// loadWorkerConfig merges, in increasing precedence: the YAML file, SPUR_*
// environment variables (SPUR_BOOTSTRAP_SERVERS -> bootstrap.servers) and
// --set key=value flags.
func loadWorkerConfig(file string, env []string, sets []string) (map[string]string, error) {
	raw := map[string]string{}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("worker config: %w", err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("worker config %s: %w", file, err)
		}
		if err := flatten("", doc, raw); err != nil {
			return nil, fmt.Errorf("worker config %s: %w", file, err)
		}
	}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, "SPUR_") || strings.HasPrefix(k, "SPUR_TEST_") || clientEnv[k] {
			continue
		}
		raw[strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(k, "SPUR_"), "_", "."))] = v
	}
	for _, kv := range sets {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--set %q: expected key=value", kv)
		}
		raw[strings.TrimSpace(k)] = v
	}
	return raw, nil
}

// flatten turns nested YAML maps into dotted keys and scalars into strings,
// so `value.converter: {schemas.enable: false}` and
// `value.converter.schemas.enable: false` mean the same. Lists become
// comma-separated strings (Kafka's LIST syntax).
func flatten(prefix string, v any, out map[string]string) error {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			if err := flatten(key, t[k], out); err != nil {
				return err
			}
		}
		return nil
	case []any:
		parts := make([]string, len(t))
		for i, x := range t {
			s, err := scalar(prefix, x)
			if err != nil {
				return err
			}
			parts[i] = s
		}
		return set(out, prefix, strings.Join(parts, ","))
	default:
		s, err := scalar(prefix, t)
		if err != nil {
			return err
		}
		return set(out, prefix, s)
	}
}

func set(out map[string]string, key, v string) error {
	if key == "" {
		return fmt.Errorf("expected a map of keys, got a bare value")
	}
	if _, dup := out[key]; dup {
		return fmt.Errorf("key %s is given twice (once nested, once dotted)", key)
	}
	out[key] = v
	return nil
}

func scalar(key string, v any) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case bool:
		return strconv.FormatBool(t), nil
	case int:
		return strconv.Itoa(t), nil
	case int64:
		return strconv.FormatInt(t, 10), nil
	case uint64:
		return strconv.FormatUint(t, 10), nil
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	}
	return "", fmt.Errorf("key %s: unsupported value %v (%T)", key, v, v)
}
