package support

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSmoke(t *testing.T) {
	b, idx := writePlain(t, &Options{Sources: []Source{
		Bytes("a.txt", []byte("hello\npassword=hunter2\n")),
		Bytes("dir/b.txt", []byte("no secret here")),
	}})
	require.Len(t, idx.Files, 2)
	bun, err := Open(t.Context(), bytes.NewReader(b), nil, &OpenOptions{Plain: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"a.txt", "dir/b.txt"}, bun.Files())
	a, err := bun.ReadFile("a.txt")
	require.NoError(t, err)
	assert.Equal(t, "hello\npassword=[REDACTED]\n", string(a))
	_ = context.Background
}
