package ext4

import "context"

// Region is one thing Format writes or relies on, for tests.
type Region struct {
	Name     string
	Off, Len int64
	Zero     bool // must read as zeros
}

type recordSink struct{ rs []Region }

func (s *recordSink) data(name string, off int64, p []byte) error {
	s.rs = append(s.rs, Region{name, off, int64(len(p)), false})
	return nil
}

func (s *recordSink) zero(name string, off, n int64, _ bool) error {
	s.rs = append(s.rs, Region{name, off, n, true})
	return nil
}

// Regions lists what Verify checks for size and o, in Format's order.
func Regions(size int64, o *Options) ([]Region, error) {
	opts, err := o.resolve()
	if err != nil {
		return nil, err
	}
	l, err := newLayout(size)
	if err != nil {
		return nil, err
	}
	s := &recordSink{}
	err = newFS(l, opts).emit(context.Background(), s)
	return s.rs, err
}
