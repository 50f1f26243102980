// Package security holds the end-to-end attack suite: each test plays an attacker against a
// real part of the stack (local runtime, RPC gateway, spec handling, DINFRA ledger and
// reactors) and proves the hole it names stays closed. See docs/security.md for what is
// defended, how, and what is out of scope.
package security
