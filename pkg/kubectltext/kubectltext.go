// Package kubectltext stops kubectl's message catalog from loading at start-up.
//
// Packages of k8s.io/kubectl call i18n.T in their package variables (help
// text), and the first call parses kubectl's whole catalog: 350 KB of .po and
// .mo, about 35 ms on every run of the plugin, even for `version`. The plugins
// print English; kubectl's strings stay the English originals.
//
// This package imports nothing but i18n, so Go initializes it right after
// i18n and before any k8s.io/kubectl/pkg/cmd package (packages are initialized
// in import-path order once their imports are, and github.com sorts first).
package kubectltext

import "k8s.io/kubectl/pkg/util/i18n"

func init() {
	_ = i18n.SetLoadTranslationsFunc(func() error { return nil })
}
