package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Candour's SQL is written once, with SQLite's `?` placeholders, and runs
// on both engines: on PostgreSQL every statement passes through rebind,
// which numbers the placeholders as PostgreSQL wants them ($1, $2, …)
// before pgx sees it. The rewrite is done in the connection (pgConn), below
// database/sql, so that no call site has to know which engine it talks to,
// and the result is cached: the statements are constants, and rewriting
// one costs a scan of its text only the first time.

// rebind turns SQLite placeholders into PostgreSQL's: `?` becomes $1, $2,
// … in order, and `?NNN` becomes $NNN. Question marks inside string
// literals, quoted identifiers, dollar-quoted strings and comments are
// left alone. A statement
// that mixes the two forms is refused: SQLite would number the bare ones
// after the highest numbered one, an easy thing to get wrong.
func rebind(q string) (string, error) {
	if !strings.ContainsRune(q, '?') {
		return q, nil
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	bare, numbered := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			// A string or a quoted identifier runs to the next unpaired
			// quote of its kind ('' and "" stand for one inside).
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j >= len(q) {
				return "", fmt.Errorf("unterminated %c in SQL", c)
			}
			b.WriteString(q[i : j+1])
			i = j
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j - 1
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				return "", errors.New("unterminated comment in SQL")
			}
			b.WriteString(q[i : i+2+j+2])
			i += 2 + j + 1
		case c == '$':
			// A dollar-quoted string ($$…$$, $tag$…$tag$: PostgreSQL's, in
			// function bodies) is copied whole.
			j := i + 1
			for j < len(q) && (q[j] == '_' || q[j] >= 'a' && q[j] <= 'z' || q[j] >= 'A' && q[j] <= 'Z' || j > i+1 && q[j] >= '0' && q[j] <= '9') {
				j++
			}
			if j >= len(q) || q[j] != '$' {
				b.WriteByte(c)
				continue
			}
			tag := q[i : j+1]
			end := strings.Index(q[j+1:], tag)
			if end < 0 {
				return "", errors.New("unterminated dollar-quoted string in SQL")
			}
			b.WriteString(q[i : j+1+end+len(tag)])
			i = j + end + len(tag)
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if j > i+1 {
				numbered = true
				b.WriteByte('$')
				b.WriteString(q[i+1 : j])
				i = j - 1
			} else {
				bare++
				fmt.Fprintf(&b, "$%d", bare)
			}
			if numbered && bare > 0 {
				return "", errors.New("SQL mixes ? and ?NNN placeholders")
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// rebound caches rebind's result for each statement text.
var rebound sync.Map // string -> reboundQuery

type reboundQuery struct {
	q   string
	err error
}

func rebindCached(q string) (string, error) {
	if v, ok := rebound.Load(q); ok {
		r := v.(reboundQuery)
		return r.q, r.err
	}
	out, err := rebind(q)
	rebound.Store(q, reboundQuery{out, err})
	return out, err
}

// openPostgres opens a pool of at most size connections, all kept open, on
// the PostgreSQL database named by dsn, a postgres:// URL or key=value
// string as libpq takes it, with params as run-time parameters of every
// connection. What the URL leaves out comes from libpq's environment
// variables (PGHOST, PGPASSWORD, …) and a password from PGPASSFILE or
// ~/.pgpass, as pgx reads them, so that a password never needs to be on a
// command line.
func openPostgres(dsn string, size int, params map[string]string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's error can quote the URL, password and all.
		return nil, errors.New("the PostgreSQL address could not be read: check its form (postgres://user@host/database)")
	}
	for k, v := range params {
		cfg.RuntimeParams[k] = v
	}
	p := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	p.SetMaxOpenConns(size)
	p.SetMaxIdleConns(size)
	return p, nil
}

// pgConnector makes pgx's connections rebind their statements.
type pgConnector struct{ driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(*stdlib.Conn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("unexpected PostgreSQL driver connection %T", conn)
	}
	return &pgConn{sc}, nil
}

// pgConn is pgx's database/sql connection with every statement rebound;
// the rest (transactions, pings, session resets, value checks) is pgx's.
type pgConn struct{ *stdlib.Conn }

func (c *pgConn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

func (c *pgConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	q, err := rebindCached(q)
	if err != nil {
		return nil, err
	}
	return c.Conn.PrepareContext(ctx, q)
}

func (c *pgConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	q, err := rebindCached(q)
	if err != nil {
		return nil, err
	}
	return c.Conn.ExecContext(ctx, q, args)
}

func (c *pgConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	q, err := rebindCached(q)
	if err != nil {
		return nil, err
	}
	return c.Conn.QueryContext(ctx, q, args)
}
