package actions

import "syscall"

// procAttr puts the action in a process group of its own (so that a
// timeout or shutdown kills everything it started) and has the kernel
// kill it when the thread that started it exits: when hookd dies, even by
// SIGKILL, its actions do not run on while another node runs their jobs
// again. The kernel ties the signal to the thread, not the process
// (golang/go#27505): startLocked keeps that thread for the child's life.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
