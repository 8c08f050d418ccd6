using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>
/// The real notary-server 0.7.0 (memory storage) and TrustServer (SQLite), each with the same repository published by
/// the real notary client (<c>example.com/app</c> with a <c>targets/releases</c> delegation holding a target).
/// </summary>
public sealed class NotaryServerPairFixture : IAsyncLifetime
{
    /// <summary>The repository on both servers.</summary>
    public const string Gun = "example.com/app";

    private readonly TemporaryDirectory _directory = new("notary-differential");
    private ReferenceNotaryServer? _reference;
    private TrustServerInstance? _ours;

    public ReferenceNotaryServer Reference => _reference ?? throw new InvalidOperationException("not started");

    public TrustServerInstance Ours => _ours ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        _reference = await ReferenceNotaryServer.StartAsync();
        _ours = await TrustServerInstance.StartAsync(new ServerStorage.Sqlite(_directory.Combine("data", "trustserver.db")));
        var key = _directory.Combine("releases.key");
        var certificate = _directory.Combine("releases.crt");
        var openssl = await ProcessRunner.RunAsync(
            "openssl",
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", certificate, "-days", "30", "-subj", "/CN=releases"],
            TimeSpan.FromSeconds(30));
        Assert.True(openssl.Succeeded, openssl.ToString());
        var target = _directory.Combine("target.txt");
        await File.WriteAllTextAsync(target, "differential\n");
        foreach (var url in new[] { _reference.Url, _ours.Url })
        {
            using var client = new NotaryCli(url);
            await client.RunCheckedAsync(["init", Gun, "--publish"]);
            await client.RunCheckedAsync(["key", "import", key, "--role", "targets/releases"]);
            await client.RunCheckedAsync(["delegation", "add", Gun, "targets/releases", certificate, "--all-paths", "-p"]);
            await client.RunCheckedAsync(["add", Gun, "v1", target, "--roles", "targets/releases", "-p"]);
        }
    }

    public async Task DisposeAsync()
    {
        if (_ours is not null)
        {
            await _ours.DisposeAsync();
        }

        if (_reference is not null)
        {
            await _reference.DisposeAsync();
        }

        _directory.Dispose();
    }
}

/// <summary>
/// Differential checks of request-target handling against the real notary-server 0.7.0: percent-encoded slashes in
/// every position of a Notary path (what Swagger UI's "Try it out" sends for a GUN), lower-case escapes, double
/// encoding, encoded dot segments (301 to the cleaned path, never a GUN escaping its checks), bad escapes.
/// Same status, same <c>Location</c>, same body for errors; for a 200, the bytes of the plain URL on the same server.
/// Not compared: <c>%00</c>, which Kestrel refuses with 400 before any handler (notary-server: 404).
/// </summary>
public sealed class NotaryServerDifferentialTests(NotaryServerPairFixture fixture) : IClassFixture<NotaryServerPairFixture>
{
    public static TheoryData<string> Targets =>
    [
        "/v2/example.com/app/_trust/tuf/root.json",
        "/v2/example.com%2Fapp/_trust/tuf/root.json",
        "/v2/example.com%2fapp/_trust/tuf/root.json",
        "/v2/example.com%252Fapp/_trust/tuf/root.json",
        "/v2%2Fexample.com/app/_trust/tuf/root.json",
        "/v2/example.com/app%2F_trust%2Ftuf%2Froot.json",
        "/v2/example.com%2Fapp/_trust/tuf/1.root.json",
        "/v2/example.com/app/_trust/tuf/targets%2Freleases.json",
        "/v2/example.com%2Fapp/_trust/tuf/targets%2freleases.json",
        "/v2/example.com/app/_trust/tuf/1.targets%2Freleases.json",
        "/v2/example.com/app/_trust/tuf/targets%252Freleases.json",
        "/v2/example.com%2Fnope/_trust/tuf/root.json",
        "/v2/example.com/x/%2E%2E/app/_trust/tuf/root.json",
        "/v2/example.com/x%2F..%2Fapp/_trust/tuf/root.json",
        "/v2/example.com/x/..%2f/app/_trust/tuf/root.json",
        "/v2/example.com/x/../app/_trust/tuf/root.json?",
        "/v2/example.com/x/%2E%2E/app/_trust/tuf/root.json?a=b%2F",
        "/v2/example.com%2F%2Fapp/_trust/tuf/root.json",
        "/v2/example.com%2F.%2Fapp/_trust/tuf/root.json",
        "/v2/example.com%2Fapp%2F/_trust/tuf/root.json",
        "/v2/%2E/example.com/app/_trust/tuf/root.json",
        "/v2/example.com/x/../a%20b/_trust/tuf/root.json",
        "/v2/example.com/x/../%C3%A9/_trust/tuf/root.json",
        "/v2/example.com/x/../a!'()*[]/_trust/tuf/root.json",
        "/v2/example.com/app%zz/_trust/tuf/root.json",
        "/v2/example.com/app%/_trust/tuf/root.json",
        "/v2/example.com%2Fapp/_trust/changefeed?records=10",
        "/_notary_server%2Fhealth",
        "/v2%2F",
    ];

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task RequestTarget_AnsweredAsNotaryServerDoes(string target)
    {
        var theirs = await RawHttp.SendAsync(fixture.Reference.Port, target);
        var ours = await RawHttp.SendAsync(new Uri(fixture.Ours.Url).Port, target);
        Assert.Equal(theirs.Status, ours.Status);
        Assert.Equal(theirs.Location, ours.Location);
        if (theirs.Status == 200)
        {
            // Each server's own metadata: the encoded URL must give what the plain one gives on that server.
            var plain = Uri.UnescapeDataString(target);
            Assert.Equal((await RawHttp.SendAsync(new Uri(fixture.Ours.Url).Port, plain)).Body, ours.Body);
        }
        else if (!target.Contains("changefeed", StringComparison.Ordinal))
        {
            Assert.Equal(theirs.Body, ours.Body);
        }
    }
}
