using TrustServer.Server.Notary;

namespace TrustServer.Server.Tests.Notary;

/// <summary>gorilla/mux's cleanPath (Go's path.Clean keeping a trailing slash), which decides the 301 redirects.</summary>
public sealed class NotaryRouterTests
{
    [Theory]
    [InlineData("", "/")]
    [InlineData("/", "/")]
    [InlineData("/v2/", "/v2/")]
    [InlineData("/v2", "/v2")]
    [InlineData("/v2/example.com/app/_trust/tuf/timestamp.json", "/v2/example.com/app/_trust/tuf/timestamp.json")]
    [InlineData("/v2/example.com/app/_trust/tuf/", "/v2/example.com/app/_trust/tuf/")]
    [InlineData("//v2//x/", "/v2/x/")]
    [InlineData("//", "/")]
    [InlineData("/v2/./x", "/v2/x")]
    [InlineData("/v2/../x", "/x")]
    [InlineData("/../x", "/x")]
    [InlineData("/a/b/..", "/a")]
    [InlineData("/a/b/../", "/a/")]
    [InlineData("/.", "/")]
    [InlineData("/./", "/")]
    [InlineData("/a/.", "/a")]
    [InlineData("/a/...", "/a/...")]
    [InlineData("/a/.b/c./..d", "/a/.b/c./..d")]
    [InlineData("v2/x", "/v2/x")]
    public void CleanPath_MatchesGorillaMux(string path, string expected) =>
        Assert.Equal(expected, NotaryRouter.CleanPath(path));

    [Fact]
    public void CleanPath_CleanPath_ReturnsTheSameInstance()
    {
        const string path = "/v2/example.com/app/_trust/tuf/root.json";
        Assert.Same(path, NotaryRouter.CleanPath(path));
    }
}
