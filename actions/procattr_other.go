//go:build !linux

package actions

import "syscall"

// procAttr puts the action in a process group of its own. Outside Linux
// nothing kills it when hookd dies by SIGKILL.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
