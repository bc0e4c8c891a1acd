package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon/daemontest"
)

// chromiumPath finds a Chromium to drive: $B7S_CHROMIUM, else chromium on the PATH. Without one
// the browser tests skip, saying how to get it, except in CI (CI set), where .ci/run installs
// Debian's chromium and a missing browser is a failure.
func chromiumPath(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("B7S_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		tb.Fatal("Chromium is not installed; .ci/run installs Debian's chromium for this test")
	}
	tb.Skip("Chromium not found: install it (apt-get install -y chromium) or set B7S_CHROMIUM; .ci/run does, so CI runs this test")
	return ""
}

// browser starts a headless Chromium with the flags it needs on a closed, sandboxed machine
// (no network of its own, no GPU, a fresh profile) and returns a tab's context. Page errors
// (uncaught exceptions, CSP refusals) are collected and returned by the func.
func browser(tb testing.TB) (context.Context, func() []string) {
	tb.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(tb)),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(tb.TempDir()),
		chromedp.WindowSize(1400, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(alloc)
	tb.Cleanup(func() { cancelTab(); cancelAlloc() })
	var mu sync.Mutex
	var problems []string
	// Listen starts the browser and the tab now, so that their start is not counted in what the
	// test waits for.
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			mu.Lock()
			problems = append(problems, fmt.Sprintf("exception: %s %+v", e.ExceptionDetails.Text, e.ExceptionDetails.Exception))
			mu.Unlock()
		case *cdplog.EventEntryAdded: // the browser's own complaints: a CSP refusal, a failed load
			if e.Entry.Level == cdplog.EntryLevelError {
				mu.Lock()
				problems = append(problems, "browser: "+e.Entry.Text)
				mu.Unlock()
			}
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				mu.Lock()
				problems = append(problems, fmt.Sprintf("console error: %v", e.Args))
				mu.Unlock()
			}
		}
	})
	if err != nil {
		tb.Fatalf("start Chromium: %v", err)
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), problems...)
	}
}

// artefactDir is where a browser test keeps its screenshot: $B7S_ARTIFACTS, else a folder under
// the system's temporary directory that outlives the test (t.TempDir would not).
func artefactDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("B7S_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "b7s-test-artifacts")
	}
	dir = filepath.Join(dir, strings.ReplaceAll(tb.Name(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// pageNetwork is a head (with a worker) whose actors keep recent messages and restart at once,
// however often they fail, so that crashes are all the page has to show.
func pageNetwork(tb testing.TB) *daemontest.Network {
	return daemontest.NewNetwork(tb, daemontest.NetworkConfig{Workers: 1,
		Configure: func(_ int, c *config.Config) { withGuest(c); c.RecentMessages = 32 },
		Backoff:   &actors.BackoffConfig{MaxRestarts: 0, Window: time.Millisecond},
	})
}

// routerRow selects the router's row once it shows n restarts, marked as restarted.
func routerRow(n int) string {
	return fmt.Sprintf(`#tree tr[data-id="node/router"][data-restarts="%d"].restarted`, n)
}

// crashAndSee crashes the head's router and waits until the page shows its n-th restart; it
// returns the time from the crash to the moment the page drew it (the page notes that moment).
func crashAndSee(tb testing.TB, ctx context.Context, head *daemontest.Node, n int) time.Duration {
	tb.Helper()
	crashed := time.Now()
	if err := head.Faults.Crash("node/router", fmt.Sprintf("injected by the browser test (%d)", n)); err != nil {
		tb.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(routerRow(n)))); err != nil {
		tb.Fatalf("the page never showed restart %d of the router: %v", n, err)
	}
	seenMS, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`Number(document.querySelector('#tree tr[data-id="node/router"]').dataset.restartSeenAt)`))
	if err != nil {
		tb.Fatal(err)
	}
	return time.UnixMilli(int64(seenMS)).Sub(crashed)
}

// The live page in a real browser: it draws the tree, marks a restart after a crash within its
// polling period, shows the error and the actor's recent messages, and is kept as a screenshot.
func TestActorsPage_InARealBrowser(t *testing.T) {
	t.Parallel() // mostly waiting (timers, gates, processes): it overlaps the busy tests
	tab, problems := browser(t)
	net := pageNetwork(t)
	ctx, cancel := context.WithTimeout(tab, 2*time.Minute)
	defer cancel()
	url := "http://" + net.Head.DebugAddress() + api.PathActorsUI

	if err := chromedp.Do(ctx, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`#tree tr[data-id="node/router"]`))); err != nil {
		t.Fatalf("load %s: %v", url, err)
	}
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#tree tbody tr')).map(r => r.dataset.id)`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"node", "node/router", "node/requests", "node/health", "node/installer", "node/direct"} {
		found := false
		for _, id := range ids {
			found = found || id == want
		}
		if !found {
			t.Errorf("the page's tree lacks %s: %v", want, ids)
		}
	}
	if len(ids) == 0 || ids[0] != "node" {
		t.Errorf("the tree does not start at its root: %v", ids)
	}

	took := crashAndSee(t, ctx, net.Head, 1)
	t.Logf("crash to page: %v (the page polls every 500 ms)", took)
	errText, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#tree tr[data-id="node/router"] td:nth-child(6)`)))
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#tree tr[data-id="node/router"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#messages tbody tr`)),
	); err != nil {
		t.Fatal(err)
	}
	detail, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#messages tbody`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errText, "injected by the browser test (1)") {
		t.Errorf("the router's last error cell reads %q", errText)
	}
	if !strings.Contains(detail, "restarting") || !strings.Contains(detail, "panic: injected by the browser test (1)") {
		t.Errorf("the router's recent messages lack its crash and restart:\n%s", detail)
	}

	// A request's path, asked on the page, spans the head and its worker.
	resp := execute(t, net.Head, guestRequest(1))
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`#trace-id`), resp.RequestID),
		chromedp.Click(chromedp.CSS(`#trace-form button`)),
		chromedp.WaitVisible(chromedp.CSS(`#trace tbody tr`)),
	); err != nil {
		t.Fatal(err)
	}
	path, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#trace tbody`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MsgRollCall", "MsgExecute", "node/work/" + resp.RequestID, "executor result", "answer"} {
		if !strings.Contains(path, want) {
			t.Errorf("the page's path of the request lacks %q:\n%s", want, path)
		}
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100 makes a PNG
	if err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(artefactDir(t), "actors-page.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
	if p := problems(); len(p) > 0 {
		t.Errorf("the page reported problems:\n%s", strings.Join(p, "\n"))
	}
}

// BenchmarkActorsPage_CrashToPage measures the time from a crash of the head's router to the
// page drawing its restart, in a real browser. The page polls every 500 ms, so a crash lands at
// a random point of that period: each one waits a random part of it first (a sleep to set the
// phase, not to wait for anything), else every crash would follow a draw at once and measure
// the worst case only.
func BenchmarkActorsPage_CrashToPage(b *testing.B) {
	tab, _ := browser(b)
	net := pageNetwork(b)
	if err := chromedp.Do(tab,
		chromedp.Navigate("http://"+net.Head.DebugAddress()+api.PathActorsUI),
		chromedp.WaitVisible(chromedp.CSS(`#tree tr[data-id="node/router"]`)),
	); err != nil {
		b.Fatal(err)
	}
	var total, worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		time.Sleep(rand.N(500 * time.Millisecond))
		b.StartTimer()
		d := crashAndSee(b, tab, net.Head, i+1)
		total += d
		worst = max(worst, d)
	}
	b.StopTimer()
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-page")
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
}
