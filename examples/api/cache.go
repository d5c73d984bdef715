package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// counterCache keeps named counters in Redis (or Valkey): INCR is atomic, so
// every replica counts into the same value.
type counterCache struct {
	client *redis.Client
}

func openCounters(redisURL string) (*counterCache, error) {
	options, err := redis.ParseURL(redisURL)
	if err != nil {
		// The parser's message may quote the URL: never log it (it holds the password).
		return nil, errors.New("not a valid redis:// URL")
	}
	options.DialTimeout = time.Second
	// One dial per attempt: a dead cache fails the readiness check at once
	// instead of after the client's five dial retries.
	options.DialerRetries = 1
	options.ReadTimeout = time.Second
	options.WriteTimeout = time.Second
	return &counterCache{client: redis.NewClient(options)}, nil
}

func (c *counterCache) Close() { _ = c.client.Close() }

func (c *counterCache) ping(ctx context.Context) error {
	return c.client.Ping(ctx).Err()
}

func (c *counterCache) increment(ctx context.Context, name string) (int64, error) {
	return c.client.Incr(ctx, "counter:"+name).Result()
}

func (c *counterCache) get(ctx context.Context, name string) (int64, error) {
	value, err := c.client.Get(ctx, "counter:"+name).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return value, err
}

// slogAdapter sends go-redis's own messages (pool dial failures) to the JSON
// log at debug level: the failures that matter are logged by the app.
type slogAdapter struct{ logger *slog.Logger }

func (l slogAdapter) Printf(ctx context.Context, format string, v ...any) {
	l.logger.DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

func useSlogForRedis(logger *slog.Logger) { redis.SetLogger(slogAdapter{logger}) }
