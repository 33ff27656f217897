module hookd

go 1.26.8

require (
	github.com/expr-lang/expr v1.17.8
	go.etcd.io/bbolt v1.5.0
	go.yaml.in/yaml/v3 v3.0.6
	golang.org/x/sys v0.48.0
)

require github.com/fsnotify/fsnotify v1.10.1 // indirect
