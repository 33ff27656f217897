//go:build !linux

package engine

// killLeftovers finds no leftover processes where there is no /proc.
func killLeftovers(string) int { return 0 }
