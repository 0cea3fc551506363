package static

import (
	"path"
	"regexp"
	"slices"
)

// PageModules are app.js and every module it imports, directly or through
// others, as paths under /static/. The page preloads them all at once;
// they are read from the modules' own import lines, so a new module is
// never missing from the list (one missing would still load, but one
// import later than the rest).
var PageModules = mustModules("app.js")

// importRE finds a module's static imports of its siblings ("./x.js",
// "../x.js"); dynamic imports and workers' scripts are not the page's to
// preload.
var importRE = regexp.MustCompile(`(?m)(?:\bfrom|^\s*import)\s+"(\.\.?/[^"]+\.js)"`)

func mustModules(root string) []string {
	mods, err := modulesFrom(root)
	if err != nil {
		panic(err)
	}
	return mods
}

// modulesFrom walks the import graph from root, in the order first met.
func modulesFrom(root string) ([]string, error) {
	seen := []string{root}
	for i := 0; i < len(seen); i++ {
		src, err := FS.ReadFile(seen[i])
		if err != nil {
			return nil, err
		}
		for _, m := range importRE.FindAllSubmatch(src, -1) {
			p := path.Join(path.Dir(seen[i]), string(m[1]))
			if !slices.Contains(seen, p) {
				seen = append(seen, p)
			}
		}
	}
	return seen, nil
}
