// Package docs checks the repository's Markdown as a reader follows it:
// every relative link names a file that exists and, when it has a
// fragment, a heading or anchor that file has. It owns no code; its
// tests read the files git tracks.
package docs
