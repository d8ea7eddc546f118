package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path"
	"strings"
)

// writeFiles applies a write request inside the source root. os.Root resolves every path inside
// the root, so neither `..` nor a symbolic link in the tree can take a write outside it.
func writeFiles(source string, request Request) Answer {
	root, err := os.OpenRoot(source)
	if err != nil {
		return Answer{Error: fmt.Sprintf("open the source tree: %v", err)}
	}
	defer root.Close()
	for _, file := range request.Files {
		if problem := checkPath(file.Path); problem != "" {
			return Answer{Error: problem}
		}
		content, err := base64.StdEncoding.DecodeString(file.Base64)
		if err != nil {
			return Answer{Error: fmt.Sprintf("%s: content is not base64", file.Path)}
		}
		if dir := path.Dir(file.Path); dir != "." {
			if err := root.MkdirAll(dir, 0o755); err != nil {
				return Answer{Error: fmt.Sprintf("%s: %v", file.Path, err)}
			}
		}
		mode := os.FileMode(0o644)
		if file.Executable {
			mode = 0o755
		}
		// Replace, never write through: a symbolic link at the path is removed, not followed.
		if err := root.Remove(file.Path); err != nil && !os.IsNotExist(err) {
			return Answer{Error: fmt.Sprintf("%s: %v", file.Path, err)}
		}
		if err := root.WriteFile(file.Path, content, mode); err != nil {
			return Answer{Error: fmt.Sprintf("%s: %v", file.Path, err)}
		}
		if err := root.Chmod(file.Path, mode); err != nil {
			return Answer{Error: fmt.Sprintf("%s: %v", file.Path, err)}
		}
	}
	for _, name := range request.Deleted {
		if problem := checkPath(name); problem != "" {
			return Answer{Error: problem}
		}
		if err := root.Remove(name); err != nil && !os.IsNotExist(err) {
			return Answer{Error: fmt.Sprintf("%s: %v", name, err)}
		}
	}
	return Answer{Ok: true}
}

// checkPath refuses paths that are not plain relative paths of the tree.
func checkPath(name string) string {
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || name == "." ||
		name == ".." || strings.HasPrefix(name, "../") || strings.ContainsRune(name, 0) {
		return fmt.Sprintf("%q is not a plain relative path of the source tree", name)
	}
	return ""
}
