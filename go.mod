module github.com/dinfra/stack

go 1.26
