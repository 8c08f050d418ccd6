using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests.Auth;

/// <summary>Token auth with tokens from an external issuer, trusted only through <c>Auth:Token:RootCertBundle</c>.</summary>
public sealed class ExternalIssuerTests : IAsyncLifetime
{
    private const string Password = "external-password";
    private readonly TemporaryDirectory _directory = new("trustserver-external-auth");
    private ExternalTokenIssuer? _issuer;
    private TrustServerInstance? _server;

    public async Task InitializeAsync()
    {
        _issuer = await ExternalTokenIssuer.StartAsync("external-notary", new Dictionary<string, (string, string, string[])>
        {
            ["writer"] = (Password, "example.com/ext/", ["push", "pull"]),
            ["reader"] = (Password, "example.com/ext/", ["pull"]),
        });
        var bundle = _directory.Combine("external-root.pem");
        File.WriteAllText(bundle, _issuer.RootPem);
        _server = await TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(_directory.Combine("data", "trustserver.db")),
            new Dictionary<string, string?>
            {
                ["Auth:Mode"] = "Token",
                ["Auth:Token:Realm"] = _issuer.Realm,
                ["Auth:Token:Service"] = "external-notary",
                ["Auth:Token:Issuer"] = ExternalTokenIssuer.IssuerName,
                ["Auth:Token:RootCertBundle"] = bundle,
            });
    }

    [Fact]
    public async Task WriterPublishes_ReaderListsButCannotPublish()
    {
        var gun = $"example.com/ext/repo-{Guid.NewGuid():N}";
        var target = _directory.Combine("target.txt");
        File.WriteAllText(target, "external\n");
        using var writer = _server!.NewClient();
        writer.SetBasicAuth("writer", Password);
        await writer.RunCheckedAsync(["init", gun, "--publish"]);
        await writer.RunCheckedAsync(["add", gun, "v1", target, "-p"]);

        using var reader = _server.NewClient();
        reader.SetBasicAuth("reader", Password);
        Assert.Contains("v1", (await reader.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);

        // The writer's keys with the reader's credentials: the server refuses the publish.
        writer.SetBasicAuth("reader", Password);
        var refused = await writer.RunAsync(["add", gun, "v2", target, "-p"]);
        Assert.False(refused.Succeeded, refused.ToString());
        Assert.Contains("401", refused.StandardOutput + refused.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("v2", (await reader.RunCheckedAsync(["list", gun])).StandardOutput, StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_issuer is not null)
        {
            await _issuer.DisposeAsync();
        }

        _directory.Dispose();
    }
}
