using System.Net;
using Microsoft.Extensions.DependencyInjection;
using TrustServer.Server.Auth;
using TrustServer.Server.Hosting;
using TrustServer.Testing;

namespace TrustServer.Server.Tests.Hosting;

/// <summary>
/// The text banner of a Development start: the client commands it prints match the configuration (HTTPS with the
/// development CA, auth on or off), and the README's quick start uses the same trust directory.
/// </summary>
public sealed class ServerBannerTests : IDisposable
{
    private readonly TemporaryDirectory _directory = new("trustserver-banner");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void AuthOff_PlainHttp_PassphrasesAndNotaryCommands_NoDockerTrust()
    {
        var text = ServerBanner.Text(["http://127.0.0.1:4443"], "Sqlite", Auth(new AuthOptions()), tls: null);

        Assert.Contains("auth: off", text, StringComparison.Ordinal);
        foreach (var variable in new[] { "NOTARY_ROOT_PASSPHRASE=", "NOTARY_TARGETS_PASSPHRASE=", "NOTARY_SNAPSHOT_PASSPHRASE=", "NOTARY_DELEGATION_PASSPHRASE=" })
        {
            Assert.Contains(variable, text, StringComparison.Ordinal);
        }

        Assert.Contains("notary -s http://127.0.0.1:4443 -d ~/.notary-trustserver init example.com/my/repo --publish", text, StringComparison.Ordinal);
        Assert.DoesNotContain("NOTARY_AUTH", text, StringComparison.Ordinal);
        Assert.DoesNotContain("DOCKER_CONTENT_TRUST_SERVER", text, StringComparison.Ordinal);
    }

    [Fact]
    public void DevelopmentTls_CommandsTrustTheCa_AndDockerTrustSetup()
    {
        var names = DevelopmentCertificates.NamesFor([]);
        var material = DevelopmentCertificates.Ensure(_directory.Combine("tls"), names, DateTimeOffset.UtcNow);
        using var certificate = material.Certificate;

        var text = ServerBanner.Text(["https://127.0.0.1:4443"], "Sqlite", Auth(new AuthOptions()), material);

        Assert.Contains($"notary -s https://127.0.0.1:4443 --tlscacert {material.CaFile} -d ~/.notary-trustserver list example.com/my/repo", text, StringComparison.Ordinal);
        Assert.Contains($"mkdir -p ~/.docker/tls/127.0.0.1:4443 && cp {material.CaFile} ~/.docker/tls/127.0.0.1:4443/ca.crt", text, StringComparison.Ordinal);
        Assert.Contains("export DOCKER_CONTENT_TRUST_SERVER=https://127.0.0.1:4443", text, StringComparison.Ordinal);
    }

    [Fact]
    public void TokenAuthWithIssuerUsers_SaysAuthIsOn_AndHowToPassCredentials()
    {
        var issuer = new TokenIssuerOptions { Enabled = true };
        issuer.Users["bob"] = new IssuerUser { PasswordHash = "x" };
        issuer.Users["alice"] = new IssuerUser { PasswordHash = "y" };

        var text = ServerBanner.Text(["http://127.0.0.1:4443"], "Sqlite", Auth(new AuthOptions { Mode = "Token" }, issuer), tls: null);

        Assert.Contains("auth: on (Auth:Mode=Token, built-in issuer at /auth/token; users: alice, bob)", text, StringComparison.Ordinal);
        Assert.Contains("export NOTARY_AUTH=$(printf 'alice:PASSWORD' | base64)", text, StringComparison.Ordinal);
    }

    [Fact]
    public void TokenAuthWithoutUsers_SaysOnlyAnonymousGrantsApply()
    {
        var text = ServerBanner.Text(
            ["http://127.0.0.1:4443"], "Sqlite", Auth(new AuthOptions { Mode = "Token" }, new TokenIssuerOptions { Enabled = true }), tls: null);

        Assert.Contains("no users are configured", text, StringComparison.Ordinal);
        Assert.Contains("hash-password", text, StringComparison.Ordinal);
    }

    [Fact]
    public void TokenAuthWithExternalTokenService_NamesTheRealm()
    {
        var text = ServerBanner.Text(
            ["http://127.0.0.1:4443"], "Sqlite", Auth(new AuthOptions { Mode = "Token" }, realm: "https://auth.example.test/token"), tls: null);

        Assert.Contains("tokens come from the token service https://auth.example.test/token", text, StringComparison.Ordinal);
        Assert.Contains("NOTARY_AUTH", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://0.0.0.0:4443", "http://127.0.0.1:4443")]
    [InlineData("http://[::]:4443", "http://127.0.0.1:4443")]
    [InlineData("http://[::1]:4443", "http://[::1]:4443")]
    [InlineData("https://127.0.0.1:5443", "https://127.0.0.1:5443")]
    public void ClientUrl_WildcardBecomesALoopbackOrHostName(string address, string expected) =>
        Assert.Equal(expected, ServerBanner.ClientUrl([address]));

    [Fact]
    public void ClientUrl_PrefersHttps_AndNamesTheHostForAWildcardHttpsAddress() =>
        Assert.Equal($"https://{Dns.GetHostName().ToLowerInvariant()}:4443", ServerBanner.ClientUrl(["http://127.0.0.1:80", "https://0.0.0.0:4443"]));

    [Fact]
    public void ReadmeQuickStart_UsesTheBannersTrustDirectory_AndNoLaunchProfileForHashPassword()
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));

        Assert.Contains($"-d {ServerBanner.TrustDirectory}", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("-d /tmp/notary-trust", readme, StringComparison.Ordinal);
        Assert.Contains("dotnet run --no-launch-profile --project src/TrustServer.Server -- hash-password", readme, StringComparison.Ordinal);
        Assert.DoesNotContain("dotnet run --project src/TrustServer.Server -- hash-password", readme, StringComparison.Ordinal);
    }

    private static AuthDescription Auth(AuthOptions mode, TokenIssuerOptions? issuer = null, string? realm = null)
    {
        var services = new ServiceCollection();
        services.AddOptions<AuthOptions>().Configure(o => o.Mode = mode.Mode);
        services.AddOptions<TokenIssuerOptions>().Configure(o =>
        {
            o.Enabled = issuer?.Enabled ?? false;
            foreach (var (name, user) in issuer?.Users ?? [])
            {
                o.Users[name] = user;
            }
        });
        services.AddOptions<TokenAuthOptions>().Configure(o => o.Realm = realm);
        using var provider = services.BuildServiceProvider();
        return ServerBanner.DescribeAuth(provider);
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "TrustServer.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("TrustServer.sln not found above " + AppContext.BaseDirectory);
    }
}
