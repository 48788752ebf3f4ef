package main

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The floors: one pgx connection NOTIFYing another, with the same payload size.

// floorPayload is a NOTIFY payload of the event's size that carries n.
func floorPayload(n int) string {
	s := strconv.Itoa(n) + ":"
	return s + strings.Repeat("x", max(0, *flagPayload-len(s)))
}

// A floor sends notification n on conn.
type floor func(ctx context.Context, conn *pgx.Conn, n int) error

// notifyFloor is the floor: NOTIFY alone, a payload of the event's size. A
// transaction that only NOTIFYs writes no WAL, so it never waits for a disk flush.
func notifyFloor(ctx context.Context, conn *pgx.Conn, n int) error {
	_, err := conn.Exec(ctx, "SELECT pg_notify('bench_floor', $1)", floorPayload(n))
	return err
}

// commitFloor inserts the event's row and NOTIFYs in one statement, as a publish does,
// without a hub: what a durable commit costs on this machine.
func commitFloor(org uuid.UUID, event string) floor {
	return func(ctx context.Context, conn *pgx.Conn, n int) error {
		_, err := conn.Exec(ctx, `WITH ev AS (
			INSERT INTO backplane_events (org_id, target_type, target_id, event) VALUES ($1, 'org', $2, $3) RETURNING id)
			SELECT pg_notify('bench_floor', $4) FROM ev`, org, org.String(), event, strconv.Itoa(n)+":")
		return err
	}
}

// floorLatency sends from one connection to another at rate, timing each notification
// from the moment it is sent to its arrival.
func floorLatency(ctx context.Context, dbURL string, send floor, rate int, d time.Duration) (latencies, error) {
	listener, notifier, err := floorConns(ctx, dbURL)
	if err != nil {
		return latencies{}, err
	}
	defer listener.Close(ctx)
	defer notifier.Close(ctx)
	total := int(float64(rate) * d.Seconds())
	sent := make([]time.Time, total)
	var sentMu sync.Mutex
	got := make([]time.Duration, 0, total)
	recvDone := make(chan error, 1)
	go func() {
		for len(got) < total {
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			n, err := listener.WaitForNotification(wctx)
			cancel()
			if err != nil {
				recvDone <- err
				return
			}
			now := time.Now()
			i, _ := strconv.Atoi(n.Payload[:strings.IndexByte(n.Payload, ':')])
			sentMu.Lock()
			got = append(got, now.Sub(sent[i]))
			sentMu.Unlock()
		}
		recvDone <- nil
	}()
	jobs := make(chan int, total)
	var sendErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range jobs {
			sentMu.Lock()
			sent[i] = time.Now()
			sentMu.Unlock()
			if err := send(ctx, notifier, i); err != nil && sendErr == nil {
				sendErr = err
			}
		}
	}()
	start := time.Now()
	pace(rate, d, func(n int) { jobs <- n })
	close(jobs)
	wg.Wait()
	if sendErr != nil {
		return latencies{}, sendErr
	}
	if err := <-recvDone; err != nil {
		return latencies{}, err
	}
	return summarise(got, time.Since(start)), nil
}

// floorThroughput sends flat out from one connection for d and returns arrivals per second.
func floorThroughput(ctx context.Context, dbURL string, send floor, d time.Duration) (float64, error) {
	listener, notifier, err := floorConns(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer listener.Close(ctx)
	defer notifier.Close(ctx)
	var received atomic.Int64
	recvDone := make(chan struct{})
	go func() {
		defer close(recvDone)
		for {
			wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_, err := listener.WaitForNotification(wctx)
			cancel()
			if err != nil {
				return
			}
			received.Add(1)
		}
	}()
	start := time.Now()
	sent := 0
	for time.Since(start) < d {
		if err := send(ctx, notifier, sent); err != nil {
			return 0, err
		}
		sent++
	}
	for received.Load() < int64(sent) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	<-recvDone
	return float64(sent) / elapsed.Seconds(), nil
}

func floorConns(ctx context.Context, dbURL string) (*pgx.Conn, *pgx.Conn, error) {
	listener, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, nil, err
	}
	if _, err := listener.Exec(ctx, "LISTEN bench_floor"); err != nil {
		return nil, nil, err
	}
	notifier, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, nil, err
	}
	return listener, notifier, nil
}
