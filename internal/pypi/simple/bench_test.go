package simple_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/wharfhq/wharf/internal/pypi/simple"
)

// bigProject has n files shaped like a busy project's: 500 versions, a wheel per platform,
// requires-python, core metadata, a few yanked.
func bigProject(n int) simple.Project {
	p := simple.Project{Name: "big-project"}
	plats := []string{"py3-none-any", "cp312-cp312-manylinux_2_17_x86_64", "cp312-cp312-macosx_11_0_arm64", "cp312-cp312-win_amd64"}
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		v := fmt.Sprintf("%d.%d.%d", i/400, i/20%20, i/len(plats)%5)
		if i%len(plats) == 0 {
			p.Versions = append(p.Versions, v)
		}
		sha := fmt.Sprintf("%064x", i*2654435761)
		name := fmt.Sprintf("big_project-%s-%s.whl", v, plats[i%len(plats)])
		p.Files = append(p.Files, simple.File{
			Filename: name, URL: "../../files/" + sha + "/" + name, SHA256: sha, Size: int64(10000 + i),
			UploadTime: t0.Add(time.Duration(i) * time.Hour), RequiresPython: ">=3.9", MetadataSHA256: sha,
			Yanked: i%97 == 0, YankedReason: "broken <wheel>",
		})
	}
	return p
}

func BenchmarkProjectPage(b *testing.B) {
	p := bigProject(2000)
	for _, f := range []simple.Format{simple.HTML, simple.JSON} {
		b.Run(f.String()+"/2000-files", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(simple.ProjectPage(p, f))))
			for b.Loop() {
				simple.ProjectPage(p, f)
			}
		})
	}
}

func BenchmarkNegotiate(b *testing.B) {
	const pip = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
	b.ReportAllocs()
	for b.Loop() {
		simple.Negotiate(pip)
	}
}
