using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TrustServer.Compat.Tests.Auth;
using TrustServer.Compat.Tests.Support;
using TrustServer.Data;
using TrustServer.Server.Import;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests;

/// <summary>
/// The source of the mirror tests: the real notary-server 0.7.0 over HTTPS with Docker token auth (tokens from a
/// separate test issuer), holding repositories made by the real client through that auth: several versions, a
/// delegation, and a repository deleted on the source.
/// </summary>
public sealed class MirrorSourceFixture : IAsyncLifetime
{
    public const string Service = "notary-server";
    public const string Password = "mirror-password";
    public readonly string Gun = $"example.com/mirror/app-{Guid.NewGuid():N}"[..50];
    public readonly string DeletedGun = $"example.com/mirror/gone-{Guid.NewGuid():N}"[..50];

    public TemporaryDirectory Directory { get; } = new("mirror-source");

    public ExternalTokenIssuer Issuer { get; private set; } = null!;

    public ReferenceNotaryServer Source { get; private set; } = null!;

    public string CaFile { get; private set; } = null!;

    /// <summary>The owner's client (its trust directory made the repository on the source).</summary>
    public NotaryCli Owner { get; private set; } = null!;

    public string Payload { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Issuer = await ExternalTokenIssuer.StartAsync(Service, new Dictionary<string, (string, string, string[])>
        {
            ["admin"] = (Password, "", ["*"]),
            ["other"] = (Password, "example.com/elsewhere/", ["pull"]),
        });
        using var ca = TestCertificates.CreateCertificateAuthority("Mirror Source CA");
        using var tls = TestCertificates.CreateTlsServer(ca);
        var (cert, key) = tls.WriteFiles(Directory.Path, "source");
        CaFile = ca.WriteCertificatePem(Directory.Combine("source-ca.crt"));
        var bundle = Directory.Combine("token-root.crt");
        await File.WriteAllTextAsync(bundle, Issuer.RootPem);
        Source = await ReferenceNotaryServer.StartAsync(new ReferenceNotaryServerOptions
        {
            TlsCertFile = cert,
            TlsKeyFile = key,
            ConfigureJson = json => json["auth"] = new JsonObject
            {
                ["type"] = "token",
                ["options"] = new JsonObject { ["realm"] = Issuer.Realm, ["service"] = Service, ["issuer"] = ExternalTokenIssuer.IssuerName, ["rootcertbundle"] = bundle },
            },
        });

        Owner = new NotaryCli(Source.Url, CaFile);
        Owner.SetBasicAuth("admin", Password);
        Payload = Directory.Combine("payload.txt");
        await File.WriteAllTextAsync(Payload, "mirrored bits\n");
        using var releases = TestCertificates.Create(new TestCertificateOptions { CommonName = "targets/releases" });
        var (releasesCrt, releasesKey) = releases.WriteFiles(Directory.Path, "releases");
        await Owner.RunCheckedAsync(["init", Gun, "--publish"]);
        await Owner.RunCheckedAsync(["add", Gun, "v1", Payload, "-p"]);
        await Owner.RunCheckedAsync(["add", Gun, "v2", Payload, "-p"]);
        await Owner.RunCheckedAsync(["key", "import", releasesKey, "--role", "targets/releases"]);
        await Owner.RunCheckedAsync(["delegation", "add", Gun, "targets/releases", releasesCrt, "--all-paths", "-p"]);
        await Owner.RunCheckedAsync(["add", Gun, "releases/r1", Payload, "--roles", "targets/releases", "-p"]);
        await Owner.RunCheckedAsync(["init", DeletedGun, "--publish"]);
        await Owner.RunCheckedAsync(["delete", DeletedGun, "--remote"]);
    }

    public async Task DisposeAsync()
    {
        Owner?.Dispose();
        if (Source is not null)
        {
            await Source.DisposeAsync();
        }

        if (Issuer is not null)
        {
            await Issuer.DisposeAsync();
        }

        Directory.Dispose();
    }

    /// <summary>A client of the source with a pull/catalog token, trusting its CA.</summary>
    public async Task<HttpClient> AuthorizedClientAsync(string scope)
    {
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.ImportFromPemFile(CaFile);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return certificate is not null && chain.Build(certificate);
            },
        };
        var http = new HttpClient(handler) { BaseAddress = new Uri(Source.Url) };
        using var issuer = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{Issuer.Realm}?service={Service}&scope={Uri.EscapeDataString(scope)}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{Password}")));
        var token = (string)JsonNode.Parse(await (await issuer.SendAsync(request)).Content.ReadAsStringAsync())!["token"]!;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }
}

/// <summary>
/// <c>import notary-server</c> against the real notary-server over HTTPS with token auth: everything the source
/// serves is served byte-identical, the owner rotates the timestamp key with the real client and publishes on;
/// bad input gives one clear line or a per-GUN report, a non-zero exit and nothing written.
/// </summary>
public sealed class MirrorImportTests(MirrorSourceFixture fixture) : IClassFixture<MirrorSourceFixture>, IAsyncLifetime
{
    private readonly TemporaryDirectory _directory = new("mirror-destination");
    private TrustServerInstance _server = null!;

    private string Database => _directory.Combine("data", "trustserver.db");

    public async Task InitializeAsync() =>
        _server = await TrustServerInstance.StartAsync(new ServerStorage.Sqlite(Database), passphraseFile: _directory.Combine("passphrase"));

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task MirrorWithTokenAuth_ServesEveryUrlByteIdentical_ThenOwnerRotatesTimestampAndPublishes()
    {
        var gun = fixture.Gun;
        var report = _directory.Combine("report.json");
        var (exit, output, error) = await ImportAsync(["--username", "admin", "--password-stdin", "--report", report], stdin: MirrorSourceFixture.Password + "\n");

        Assert.True(exit == ImportCommand.Success, $"exit {exit}\n{output}\n{error}");
        Assert.Contains($"notary -s <this server> key rotate {gun} timestamp -r", output, StringComparison.Ordinal);
        Assert.DoesNotContain(MirrorSourceFixture.Password, output + error + await File.ReadAllTextAsync(report), StringComparison.Ordinal);
        Assert.Contains(fixture.DeletedGun, await File.ReadAllTextAsync(report), StringComparison.Ordinal);

        // Every URL the source serves for the repository answers the same bytes here.
        using var source = await fixture.AuthorizedClientAsync($"repository:{gun}:pull");
        var urls = 0;
        foreach (var role in new[] { "root", "targets", "snapshot", "timestamp", "targets/releases" })
        {
            var current = await source.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/{role}.json");
            Assert.Equal(current, await _server.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/{role}.json"));
            var top = TrustServer.Tuf.Metadata.SignedEnvelope.Parse(current).Version;
            for (var version = 1; version <= top; version++)
            {
                var original = await source.GetAsync($"/v2/{gun}/_trust/tuf/{version}.{role}.json");
                var mirrored = await _server.Http.GetAsync($"/v2/{gun}/_trust/tuf/{version}.{role}.json");
                Assert.Equal(original.StatusCode, mirrored.StatusCode);
                if (original.StatusCode == HttpStatusCode.OK)
                {
                    var bytes = await original.Content.ReadAsByteArrayAsync();
                    Assert.Equal(bytes, await mirrored.Content.ReadAsByteArrayAsync());
                    var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
                    Assert.Equal(bytes, await source.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/{role}.{sha}.json"));
                    Assert.Equal(bytes, await _server.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/{role}.{sha}.json"));
                    urls += 3;
                }
            }
        }

        Assert.True(urls >= 30, $"only {urls} versioned URLs compared");
        Assert.Equal(await ChangesAsync(source, gun), await ChangesAsync(_server.Http, gun));

        // The same trust directory, re-pointed: a publish names the fix, the fix works, publishing goes on.
        var refused = await fixture.Owner.RunAsync(["-s", _server.Url, "add", gun, "v3", fixture.Payload, "-p"]);
        Assert.False(refused.Succeeded, refused.ToString());
        Assert.Contains($"notary key rotate {gun} timestamp -r", refused.StandardOutput + refused.StandardError, StringComparison.Ordinal);
        await fixture.Owner.RunCheckedAsync(["-s", _server.Url, "key", "rotate", gun, "timestamp", "-r"]);
        await fixture.Owner.RunCheckedAsync(["-s", _server.Url, "add", gun, "v3", fixture.Payload, "-p"]);
        await fixture.Owner.RunCheckedAsync(["-s", _server.Url, "add", gun, "releases/r2", fixture.Payload, "--roles", "targets/releases", "-p"]);
        using var reader = _server.NewClient();
        var list = (await reader.RunCheckedAsync(["list", gun])).StandardOutput;
        foreach (var target in new[] { "v1", "v2", "v3", "releases/r1", "releases/r2" })
        {
            Assert.Contains(target, list, StringComparison.Ordinal);
        }

        // A re-run changes nothing that is already there.
        (exit, output, error) = await ImportAsync(["--gun", gun, "--username", "admin", "--password-stdin"], stdin: MirrorSourceFixture.Password + "\n");
        Assert.True(exit == ImportCommand.Success, $"exit {exit}\n{output}\n{error}");
        Assert.Contains("files: 0 added", output, StringComparison.Ordinal);
        Assert.Contains("changefeed: 0 added", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_WrongCa_BadCredentials_UnknownGun_ReportedWithExitCodeAndNothingWritten()
    {
        var gun = fixture.Gun;

        var closedPort = new Uri(fixture.Source.Url).Port + 1;
        var unreachable = await ImportAsync(["--gun", gun], url: $"https://127.0.0.1:{closedPort}");
        Assert.Equal(ImportCommand.Failure, unreachable.Exit);
        Assert.Contains("cannot be reached", unreachable.Error, StringComparison.Ordinal);

        using var otherCa = TestCertificates.CreateCertificateAuthority("Some Other CA");
        var wrongCa = await ImportAsync(["--gun", gun], caFile: otherCa.WriteCertificatePem(_directory.Combine("other-ca.crt")));
        Assert.Equal(ImportCommand.Failure, wrongCa.Exit);
        Assert.Contains("cannot be reached", wrongCa.Error, StringComparison.Ordinal);

        var badPassword = await ImportAsync(["--gun", gun, "--username", "admin", "--password-stdin"], stdin: "wrong-password\n");
        Assert.Equal(ImportCommand.Failure, badPassword.Exit);
        Assert.Contains("refused the credentials", badPassword.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password", badPassword.Output + badPassword.Error, StringComparison.Ordinal);

        // A user without rights on the GUN, and a GUN the source does not have: per-GUN failures.
        var noRights = await ImportAsync(["--gun", gun, "--username", "other", "--password-stdin"], stdin: MirrorSourceFixture.Password + "\n");
        Assert.Equal(ImportCommand.Failure, noRights.Exit);
        Assert.Contains($"FAILED   {gun}", noRights.Output, StringComparison.Ordinal);

        var missing = "example.com/mirror/never-published";
        var unknown = await ImportAsync(["--gun", missing, "--username", "admin", "--password-stdin"], stdin: MirrorSourceFixture.Password + "\n");
        Assert.Equal(ImportCommand.Failure, unknown.Exit);
        Assert.Contains($"FAILED   {missing}", unknown.Output, StringComparison.Ordinal);
        Assert.Contains("has no repository", unknown.Output, StringComparison.Ordinal);

        var dryRun = await ImportAsync(["--gun", gun, "--username", "admin", "--password-stdin", "--dry-run"], stdin: MirrorSourceFixture.Password + "\n");
        Assert.True(dryRun.Exit == ImportCommand.Success, dryRun.Output + dryRun.Error);

        var usage = await ImportAsync(["--username", "admin"]);
        Assert.Equal(ImportCommand.Usage, usage.Exit);

        var store = _server.Services.GetRequiredService<IMetadataStore>();
        Assert.Empty(await store.GetHighestVersionsAsync(gun));
        Assert.Empty(await store.GetHighestVersionsAsync(missing));
        Assert.Empty(await store.GetChangesAsync(null, 0, 100));
    }

    [Fact]
    public async Task GivenBearerToken_ReadsTheRepository_WithoutBasicCredentials()
    {
        var gun = fixture.Gun;
        using var source = await fixture.AuthorizedClientAsync($"repository:{gun}:pull");
        var tokenFile = _directory.Combine("token");
        await File.WriteAllTextAsync(tokenFile, source.DefaultRequestHeaders.Authorization!.Parameter + "\n");

        var (exit, output, error) = await ImportAsync(["--gun", gun, "--token-file", tokenFile]);

        Assert.True(exit == ImportCommand.Success, $"exit {exit}\n{output}\n{error}");
        Assert.DoesNotContain(source.DefaultRequestHeaders.Authorization!.Parameter!, output + error, StringComparison.Ordinal);
        var store = _server.Services.GetRequiredService<IMetadataStore>();
        Assert.Equal(await source.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/targets/releases.json"), (await store.GetLatestAsync(gun, "targets/releases"))!.Data);
    }

    private async Task<(int Exit, string Output, string Error)> ImportAsync(string[] arguments, string? stdin = null, string? url = null, string? caFile = null)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        string[] args =
        [
            "notary-server", "--url", url ?? fixture.Source.Url, "--ca-file", caFile ?? fixture.CaFile, .. arguments,
            "--Storage:Provider=Sqlite", $"--ConnectionStrings:Metadata=Data Source={Database}", $"--Signing:PassphraseFile={_directory.Combine("passphrase")}",
        ];
        var exit = await ImportCommand.RunAsync(args, output, error, input: new StringReader(stdin ?? string.Empty));
        return (exit, output.ToString(), error.ToString());
    }

    // The changefeed records as followers see them: id, GUN, version, sha256, category.
    private static async Task<List<string>> ChangesAsync(HttpClient http, string gun)
    {
        var body = JsonNode.Parse(await http.GetStringAsync($"/v2/{gun}/_trust/changefeed?change_id=0&records=1000"))!;
        return [.. (body["records"]?.AsArray() ?? []).Select(r => $"{r!["ID"]} {r["GUN"]} {r["Version"]} {r["SHA256"]} {r["Category"]}")];
    }
}
