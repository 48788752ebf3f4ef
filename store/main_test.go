package store_test

import (
	"os"
	"testing"

	"github.com/switchboard-dev/switchboard/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
