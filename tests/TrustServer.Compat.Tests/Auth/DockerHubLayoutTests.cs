using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using TrustServer.Compat.Tests.Support;
using TrustServer.Server.Auth;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests.Auth;

/// <summary>
/// The Docker Hub layout with real parts: Debian's docker-registry (Distribution 2.8) and TrustServer as two token
/// services behind TrustServer's built-in issuer, both over HTTPS with a test CA. The registry's service
/// (<see cref="RegistryService"/>) maps its repository names onto GUNs (<c>127.0.0.1:&lt;port&gt;/</c> + name), so one
/// grant per user covers both. Users: alice push+pull and bob pull on <c>&lt;registry&gt;/team/*</c>, carol <c>*</c> on
/// everything; anonymous pull on <c>registry.example.com/public/*</c>.
/// </summary>
public sealed class DockerHubLayoutFixture : IAsyncLifetime
{
    /// <summary>Every user's password.</summary>
    public const string Password = "docker hub layout password";

    /// <summary>The registry's token service (its <c>auth.token.service</c>).</summary>
    public const string RegistryService = "registry.example.com";

    /// <summary>The trust server's own token service.</summary>
    public const string TrustService = "trustserver.example.com";

    /// <summary>The issuer name (<c>iss</c>) both services expect.</summary>
    public const string Issuer = "trustserver-test-issuer";

    private readonly TemporaryDirectory _directory = new("docker-hub-layout");
    private TrustServerInstance? _server;
    private DockerRegistry? _registry;
    private TestCertificate? _tlsCa;

    /// <summary>The trust server (HTTPS).</summary>
    public TrustServerInstance Server => _server ?? throw new InvalidOperationException("not started");

    /// <summary>The registry (HTTPS, token auth by the trust server's issuer).</summary>
    public DockerRegistry Registry => _registry ?? throw new InvalidOperationException("not started");

    /// <summary>PEM file of the CA of both servers' TLS certificates.</summary>
    public string TlsCaFile => _directory.Combine("tls-ca.pem");

    /// <summary>PEM of the CA of both servers' TLS certificates.</summary>
    public string TlsCaPem => _tlsCa!.CertificatePem;

    /// <summary><c>host:port</c> of the trust server.</summary>
    public string TrustServerHost => new Uri(Server.Url).Authority;

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        _tlsCa = TestCertificates.CreateCertificateAuthority("Docker Hub layout TLS CA");
        _tlsCa.WriteCertificatePem(TlsCaFile);
        using var tls = TestCertificates.CreateTlsServer(_tlsCa, "127.0.0.1");
        var (tlsCertificate, tlsKey) = tls.WriteFiles(_directory.Path, "tls");

        using var tokenCa = TestCertificates.CreateCertificateAuthority("Docker Hub layout token CA");
        using var signer = TestCertificates.Create(new TestCertificateOptions { CommonName = "TrustServer token signer" }, tokenCa);
        var bundle = tokenCa.WriteCertificatePem(_directory.Combine("token-ca.pem"));
        var (signerCertificate, signerKey) = signer.WriteFiles(_directory.Path, "token-signer");

        // The registry's port is chosen first: its names map onto GUNs under it.
        var registryPort = TestPorts.GetFreeTcpPort();
        var registryHost = $"127.0.0.1:{registryPort}";
        var hash = TokenIssuer.HashPassword(Password);
        var settings = new Dictionary<string, string?>
        {
            ["Kestrel:Certificates:Default:Path"] = tlsCertificate,
            ["Kestrel:Certificates:Default:KeyPath"] = tlsKey,
            ["Auth:Mode"] = "Token",
            ["Auth:Token:Realm"] = "/auth/token",
            ["Auth:Token:Service"] = TrustService,
            ["Auth:Token:Issuer"] = Issuer,
            ["Auth:Token:RootCertBundle"] = bundle,
            ["Auth:Issuer:Enabled"] = "true",
            ["Auth:Issuer:SigningKeyFile"] = signerKey,
            ["Auth:Issuer:CertificateFile"] = signerCertificate,
            ["Auth:Issuer:Services:0:Name"] = RegistryService,
            ["Auth:Issuer:Services:0:RepositoryPrefix"] = registryHost + "/",
            ["Auth:Issuer:AnonymousGrants:0:Pattern"] = "registry.example.com/public/*",
            ["Auth:Issuer:Users:alice:PasswordHash"] = hash,
            ["Auth:Issuer:Users:alice:Grants:0:Pattern"] = registryHost + "/team/*",
            ["Auth:Issuer:Users:alice:Grants:0:Actions"] = "push,pull",
            ["Auth:Issuer:Users:bob:PasswordHash"] = hash,
            ["Auth:Issuer:Users:bob:Grants:0:Pattern"] = registryHost + "/team/*",
            ["Auth:Issuer:Users:bob:Grants:0:Actions"] = "pull",
            ["Auth:Issuer:Users:carol:PasswordHash"] = hash,
            ["Auth:Issuer:Users:carol:Grants:0:Pattern"] = "*",
            ["Auth:Issuer:Users:carol:Grants:0:Actions"] = "*",
        };
        _server = await TrustServerInstance.StartAsync(new ServerStorage.Sqlite(_directory.Combine("data", "trustserver.db")), settings, https: true);
        _registry = await DockerRegistry.StartAsync(registryPort, tlsCertificate, tlsKey, Server.Url + "/auth/token", RegistryService, Issuer, bundle);
    }

    /// <summary>An HTTP client that trusts the test CA only.</summary>
    public HttpClient NewHttpClient()
    {
        var ca = X509CertificateLoader.LoadCertificateFromFile(TlsCaFile);
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, _, _) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return certificate is not null && chain.Build(certificate);
            },
        };
        return new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(30) };
    }

    /// <summary>A notary client for the trust server over HTTPS (the test CA), as <paramref name="user"/>.</summary>
    public NotaryCli NewNotary(string user) => new(new NotaryCliOptions
    {
        ServerUrl = Server.Url,
        TlsCaCertPath = TlsCaFile,
        Auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{Password}")),
    });

    /// <summary>A token of the built-in issuer for <paramref name="service"/>, as <paramref name="user"/> (anonymous when null).</summary>
    public async Task<string> TokenAsync(string? user, string service, string scope)
    {
        using var http = NewHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{Server.Url}/auth/token?service={Uri.EscapeDataString(service)}&scope={Uri.EscapeDataString(scope)}");
        if (user is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{Password}")));
        }

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"token request answered {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!["token"]!.GetValue<string>();
    }

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        _registry?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _tlsCa?.Dispose();
        _directory.Dispose();
    }
}

/// <summary>
/// <c>docker login</c> and the engine-free <c>docker trust</c> commands (Docker CLI, no engine) against the Docker Hub
/// layout of <see cref="DockerHubLayoutFixture"/>, checked against what the real registry and notary client see.
/// </summary>
public sealed class DockerHubLayoutTests(DockerHubLayoutFixture fixture) : IClassFixture<DockerHubLayoutFixture>, IDisposable
{
    private readonly TemporaryDirectory _files = new("docker-hub-layout-payload");

    private string RegistryHost => fixture.Registry.Host;

    [Fact]
    public async Task DockerLogin_ToTheRegistry_WithTheTrustServersIssuer()
    {
        using var docker = Docker();

        var login = await docker.RunCheckedAsync(["login", RegistryHost, "--username", "alice", "--password-stdin"], DockerHubLayoutFixture.Password);
        Assert.Contains("Login Succeeded", login.StandardOutput, StringComparison.Ordinal);
        var config = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(docker.ConfigDirectory, "config.json")))!;
        Assert.NotNull(config["auths"]?[RegistryHost]);

        using var wrong = Docker();
        var refused = await wrong.RunAsync(["login", RegistryHost, "--username", "alice", "--password-stdin"], "not the password");
        Assert.False(refused.Succeeded, refused.ToString());
        Assert.Contains("unauthorized", refused.StandardError, StringComparison.OrdinalIgnoreCase);
        Assert.False(File.Exists(Path.Combine(wrong.ConfigDirectory, "config.json")) && File.ReadAllText(Path.Combine(wrong.ConfigDirectory, "config.json")).Contains(RegistryHost, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RegistryAndTrustServer_EachAcceptOnlyTokensForTheirOwnService()
    {
        var gun = $"{RegistryHost}/team/audience";
        using var http = fixture.NewHttpClient();

        // The registry's token names the registry's repository; the grant on the GUN covers it through the prefix.
        var registryToken = await fixture.TokenAsync("alice", DockerHubLayoutFixture.RegistryService, "repository:team/audience:push,pull");
        var claims = Claims(registryToken);
        Assert.Equal(DockerHubLayoutFixture.RegistryService, claims["aud"]!.GetValue<string>());
        Assert.Equal("""[{"type":"repository","name":"team/audience","actions":["push","pull"]}]""", claims["access"]!.ToJsonString());

        // The registry accepts it (an unknown repository, not a 401) ...
        using (var tags = await SendAsync(http, $"{fixture.Registry.Url}/v2/team/audience/tags/list", registryToken))
        {
            Assert.Equal(HttpStatusCode.NotFound, tags.StatusCode);
            Assert.Contains("NAME_UNKNOWN", await tags.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // ... TrustServer's Notary routes refuse it: wrong audience.
        using (var root = await SendAsync(http, $"{fixture.Server.Url}/v2/{gun}/_trust/tuf/root.json", registryToken))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, root.StatusCode);
            Assert.Equal(
                $"Bearer realm=\"{fixture.Server.Url}/auth/token\",service=\"{DockerHubLayoutFixture.TrustService}\",scope=\"repository:{gun}:pull\",error=\"invalid_token\"",
                root.Headers.WwwAuthenticate.ToString());
        }

        // The trust server's token works there (no trust data yet: 404) and is refused by the registry.
        var trustToken = await fixture.TokenAsync("alice", DockerHubLayoutFixture.TrustService, $"repository:{gun}:pull");
        Assert.Equal(DockerHubLayoutFixture.TrustService, Claims(trustToken)["aud"]!.GetValue<string>());
        using (var root = await SendAsync(http, $"{fixture.Server.Url}/v2/{gun}/_trust/tuf/root.json", trustToken))
        {
            Assert.Equal(HttpStatusCode.NotFound, root.StatusCode);
        }

        using (var tags = await SendAsync(http, $"{fixture.Registry.Url}/v2/team/audience/tags/list", trustToken))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, tags.StatusCode);
        }

        // One grant, both services: bob's pull on the GUNs is pull on the registry's names; names outside it get nothing.
        var bob = Claims(await fixture.TokenAsync("bob", DockerHubLayoutFixture.RegistryService, "repository:team/audience:push,pull repository:other/app:pull"));
        Assert.Equal("""[{"type":"repository","name":"team/audience","actions":["pull"]}]""", bob["access"]!.ToJsonString());

        // A service the issuer does not serve.
        using (var unknown = await http.GetAsync($"{fixture.Server.Url}/auth/token?service=elsewhere&scope=repository:team/app:pull"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
            Assert.Contains("INVALID_SERVICE", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task DockerTrust_SignerAddInspectRevoke_AsTheNotaryClientSeesIt()
    {
        var repository = $"{RegistryHost}/team/app";
        using var docker = Docker();
        docker.TrustServerCa(fixture.TrustServerHost, fixture.TlsCaPem);
        await docker.RunCheckedAsync(["login", RegistryHost, "--username", "alice", "--password-stdin"], DockerHubLayoutFixture.Password);

        // key generate is local; signer add initialises the repository on the trust server with alice's login.
        var keys = Path.Combine(docker.ScratchDirectory, "keys");
        Directory.CreateDirectory(keys);
        await docker.RunCheckedAsync(["trust", "key", "generate", "alice", "--dir", keys]);
        Assert.True(File.Exists(Path.Combine(keys, "alice.pub")));
        var added = await docker.RunCheckedAsync(["trust", "signer", "add", "--key", Path.Combine(keys, "alice.pub"), "alice", repository]);
        Assert.Contains("Successfully added signer: alice", added.StandardOutput, StringComparison.Ordinal);

        using var notary = fixture.NewNotary("bob");
        var delegations = (await notary.RunCheckedAsync(["delegation", "list", repository])).StandardOutput;
        Assert.Contains("targets/releases", delegations, StringComparison.Ordinal);
        Assert.Contains("targets/alice", delegations, StringComparison.Ordinal);

        // A tag signed with alice's key (from docker's own trust directory) by the notary client, since signing through
        // docker needs an engine to push.
        using var signer = fixture.NewNotary("alice");
        await signer.RunCheckedAsync(["-d", docker.TrustDirectory, "add", repository, "v1", Payload("v1"), "--roles", "targets/releases", "--roles", "targets/alice", "-p"]);

        var inspect = JsonNode.Parse((await docker.RunCheckedAsync(["trust", "inspect", repository])).StandardOutput)!.AsArray();
        var repo = Assert.Single(inspect)!;
        Assert.Equal(repository, repo["Name"]!.GetValue<string>());
        var tag = Assert.Single(repo["SignedTags"]!.AsArray())!;
        Assert.Equal("v1", tag["SignedTag"]!.GetValue<string>());
        Assert.Equal(["alice"], tag["Signers"]!.AsArray().Select(s => s!.GetValue<string>()));
        Assert.Equal(["alice"], repo["Signers"]!.AsArray().Select(s => s!["Name"]!.GetValue<string>()));

        var revoked = await docker.RunCheckedAsync(["trust", "revoke", "--yes", repository + ":v1"]);
        Assert.Contains("Successfully deleted signature for " + repository + ":v1", revoked.StandardOutput, StringComparison.Ordinal);
        using var fresh = fixture.NewNotary("bob");
        var listed = await fresh.RunAsync(["list", repository]);
        Assert.DoesNotContain("v1", listed.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("targets/alice", (await fresh.RunCheckedAsync(["delegation", "list", repository])).StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DockerTrust_ChecksTheTrustServerCertificate_WithTheCaUnderDockerConfigTls()
    {
        // A repository of another registry name, read anonymously (anonymous pull on registry.example.com/public/*).
        const string Repository = "registry.example.com/public/app";
        using (var carol = fixture.NewNotary("carol"))
        {
            await carol.RunCheckedAsync(["init", Repository, "--publish"]);
            await carol.RunCheckedAsync(["add", Repository, "latest", Payload("latest"), "-p"]);
        }

        using var docker = Docker();
        // docker prints only "no signatures or cannot access"; its debug log names the TLS failure.
        var untrusted = await docker.RunAsync(["--debug", "trust", "inspect", Repository]);
        Assert.False(untrusted.Succeeded, untrusted.ToString());
        Assert.Contains("x509: certificate signed by unknown authority", untrusted.StandardError, StringComparison.Ordinal);

        docker.TrustServerCa(fixture.TrustServerHost, fixture.TlsCaPem);
        var inspect = JsonNode.Parse((await docker.RunCheckedAsync(["trust", "inspect", Repository])).StandardOutput)!.AsArray();
        var tag = Assert.Single(Assert.Single(inspect)!["SignedTags"]!.AsArray())!;
        Assert.Equal("latest", tag["SignedTag"]!.GetValue<string>());
    }

    /// <inheritdoc/>
    public void Dispose() => _files.Dispose();

    private DockerCli Docker() => new(fixture.Server.Url, NotaryCli.DefaultPassphrase);

    private string Payload(string content)
    {
        var path = _files.Combine(Guid.NewGuid().ToString("N") + ".txt");
        File.WriteAllText(path, content);
        return path;
    }

    private static JsonNode Claims(string token) =>
        JsonNode.Parse(System.Buffers.Text.Base64Url.DecodeFromChars(token.Split('.')[1]))!;

    private static Task<HttpResponseMessage> SendAsync(HttpClient http, string url, string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http.SendAsync(request);
    }
}
