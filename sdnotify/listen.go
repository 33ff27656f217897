package sdnotify

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// listenFdsStart is SD_LISTEN_FDS_START: the first passed descriptor.
const listenFdsStart = 3

// Socket is a file descriptor passed by the service manager, with its name
// (FileDescriptorName= in the socket unit; by default the unit's name).
type Socket struct {
	Name string
	File *os.File
}

// Sockets returns the sockets the service manager passed to this process
// (socket activation, sd_listen_fds(3)): LISTEN_FDS descriptors from fd 3,
// named by LISTEN_FDNAMES, when LISTEN_PID is this process. It returns
// nothing when they are not for this process. Like sd_listen_fds with
// unset_environment, it removes the three variables, so that the processes
// hookd starts do not take the sockets for theirs, and it marks the
// descriptors close-on-exec, so that they do not inherit them.
func Sockets() ([]Socket, error) {
	pid, fds, names := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES")
	for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		os.Unsetenv(v)
	}
	if pid == "" || fds == "" {
		return nil, nil
	}
	if p, err := strconv.Atoi(pid); err != nil || p != os.Getpid() {
		return nil, nil // meant for another process (an ancestor's)
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("sdnotify: LISTEN_FDS=%q is not a number of descriptors", fds)
	}
	var nameList []string
	if names != "" {
		nameList = strings.Split(names, ":")
	}
	out := make([]Socket, 0, n)
	for i := range n {
		fd := listenFdsStart + i
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
			return nil, fmt.Errorf("sdnotify: passed descriptor %d: %w", fd, err)
		}
		name := "unknown" // as sd_listen_fds_with_names says when none is given
		if i < len(nameList) && nameList[i] != "" {
			name = nameList[i]
		}
		out = append(out, Socket{Name: name, File: os.NewFile(uintptr(fd), name)})
	}
	return out, nil
}
