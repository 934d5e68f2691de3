// Package kubernetes holds paperchart's Kubernetes manifests (the YAML files
// beside this one) and, in its test, their offline validation: each document
// is decoded strictly, unknown fields refused, into the typed structs of
// k8s.io/api (KEDA's and kustomize's kinds into small local structs), and
// the references between them (selectors, probes' ports, Secrets,
// ConfigMaps, the scaled Deployment, the paperchart commands and variables)
// are checked. Nothing else imports it: the paperchart binary does not
// depend on k8s.io.
package kubernetes
