// Package bench runs memberwait and the waiting strategies of CAPO, OCCM,
// Terraform and kuryr-kubernetes side by side on the same emulated Octavia
// clouds, in virtual time, and renders what each costs and gets wrong.
//
// Every strategy is real polling code: it sends its requests over HTTP with
// gophercloud v2 to an octaviatest emulator on 127.0.0.1 and sleeps on a
// vclock virtual clock, so a five-minute wait runs in milliseconds and a
// seeded run gives the same figures every time. The peers are modelled from
// their published sources (see [Strategies] and docs/benchmarks.md).
package bench
