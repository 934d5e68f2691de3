// Package api owns paperchart's HTTP JSON interface for people and scripts
// watching the pipeline: health, and the status of every batch and its
// pages. It never puts page text in a response or a log.
package api
