package runtime

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// placeholder is Kafka's config-provider reference syntax: ${provider:[path:]key}.
var placeholder = regexp.MustCompile(`\$\{([^}]*?):(([^}]*?):)?([^}]*?)\}`)

// HasPlaceholder reports whether a value references a config provider.
func HasPlaceholder(v string) bool { return placeholder.MatchString(v) }

// ResolveConfig replaces ${env:VAR}, ${file:/path.properties:key} and
// ${dir:/path:file} references. Configs are stored with their references and
// resolved only when a connector is validated or a task starts, so secrets
// never reach the config topic or the REST API.
//
// Unlike Kafka Connect, which leaves a reference it cannot resolve as it is,
// a missing variable, file or key is an error naming the config key: a
// request sent with a literal "${env:API_KEY}" is worse than no request.
// References to other providers are left unchanged.
func ResolveConfig(raw map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		if !strings.Contains(v, "${") {
			out[k] = v
			continue
		}
		var firstErr error
		out[k] = placeholder.ReplaceAllStringFunc(v, func(ref string) string {
			m := placeholder.FindStringSubmatch(ref)
			val, ok, err := resolveRef(m[1], m[3], m[4])
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("config %s: %s: %w", k, ref, err)
			}
			if !ok {
				return ref
			}
			return val
		})
		if firstErr != nil {
			return nil, firstErr
		}
	}
	return out, nil
}

func resolveRef(provider, path, key string) (string, bool, error) {
	switch provider {
	case "env":
		if path != "" {
			return "", false, fmt.Errorf("the env provider takes no path")
		}
		v, ok := os.LookupEnv(key)
		if !ok {
			return "", false, fmt.Errorf("environment variable %s is not set", key)
		}
		return v, true, nil
	case "file":
		props, err := readProperties(path)
		if err != nil {
			return "", false, err
		}
		v, ok := props[key]
		if !ok {
			return "", false, fmt.Errorf("no key %s in %s", key, path)
		}
		return v, true, nil
	case "dir":
		b, err := os.ReadFile(filepath.Join(path, filepath.Base(key)))
		if err != nil {
			return "", false, err
		}
		return string(b), true, nil
	}
	return "", false, nil
}

// readProperties reads a Java properties file: key=value or key: value
// lines, # and ! comments. (Line continuations and escapes are not supported.)
func readProperties(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			out[line] = ""
			continue
		}
		out[strings.TrimSpace(line[:i])] = strings.TrimSpace(line[i+1:])
	}
	return out, sc.Err()
}

// unresolve puts references back into task configs: a task config value
// taken from a connector config value that held references is stored with
// the references, not the secret (Kafka Connect's "reverse transform").
func unresolve(task, connectorRaw map[string]string) {
	for k := range task {
		if raw, ok := connectorRaw[k]; ok && HasPlaceholder(raw) {
			task[k] = raw
		}
	}
}
