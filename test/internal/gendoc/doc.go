// Package gendoc owns the generated sections of the docs: markdown between
// "<!-- NAME:begin -->" and "<!-- NAME:end -->" lines that a benchmark or
// calibration program rewrites, so that several generators can share one
// file (docs/benchmarks.md) without overwriting each other's figures.
package gendoc
