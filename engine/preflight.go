package engine

import (
	"errors"
	"fmt"

	"hookd/rules"
)

// Preflight checks the settings that Start would fail on, short of binding
// the ports and opening the database: hookd check runs it, so that a
// configuration check passes is one serve starts with.
func Preflight(cfg rules.Config) []error {
	var errs []error
	if err := listenAddrErr(cfg.Listen); err != nil {
		errs = append(errs, err)
	}
	if cfg.OpsListen != "" {
		if err := listenAddrErr(cfg.OpsListen); err != nil {
			errs = append(errs, fmt.Errorf("ops.%w", err))
		} else if cfg.OpsListen == cfg.Listen {
			errs = append(errs, fmt.Errorf("ops.listen %s is the webhook listen address; give the operations endpoints their own port, or remove ops.listen to serve them on listen", cfg.OpsListen))
		}
	}
	if cfg.UI.Listen != "" {
		if err := listenAddrErr(cfg.UI.Listen); err != nil {
			errs = append(errs, fmt.Errorf("ui.%w", err))
		} else if cfg.UI.Listen == cfg.Listen {
			errs = append(errs, fmt.Errorf("ui.listen %s is the webhook listen address; the dashboard never listens on the public webhook port", cfg.UI.Listen))
		}
	}
	if cfg.TLSCert != "" {
		if _, err := newCertReloader(cfg.TLSCert, cfg.TLSKey, 0, nil); err != nil {
			errs = append(errs, err)
		}
	}
	if err := adminAddrErr(cfg.AdminPath()); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// listenAddrErr tells what net.Listen would say of a malformed address.
func listenAddrErr(addr string) error {
	if err := rules.CheckListenAddr(addr); err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	return nil
}

func adminAddrErr(addr string) error {
	if AdminNetwork(addr) == "unix" && len(addr) > 104 { // sun_path is 104 bytes on BSDs, 108 on Linux
		return fmt.Errorf("admin socket path %s is too long for a unix socket; set admin: in hookd.yaml to a shorter path", addr)
	}
	if rules.AdminTCP(addr) && !rules.Loopback(addr) {
		return errors.New(rules.AdminReachableErr(addr))
	}
	return nil
}
