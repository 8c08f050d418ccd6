using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests.Auth;

/// <summary>
/// The compose deployment's shape with real parts: the real nginx with <c>deploy/compose/nginx.conf</c> (TLS with
/// gen-certs.sh's certificate) in front of a server configured as docker-compose.yml configures it (token auth with the
/// built-in issuer, secrets from gen-auth.sh read through <c>Server:SettingsDirectory</c>) and trusting only the proxy's
/// address for forwarded headers. nginx connects from 127.0.0.2 (<c>proxy_bind</c>), clients from 127.0.0.1 or 127.0.0.3.
/// </summary>
public sealed class ForwardedHeadersProxyTests : IAsyncLifetime
{
    private const string ProxyAddress = "127.0.0.2";
    private const string ClientAddress = "127.0.0.3";

    private readonly TemporaryDirectory _dir = new("trustserver-proxy");
    private TrustServerInstance? _server;
    private Process? _nginx;
    private int _proxyPort;
    private string _password = string.Empty;
    private readonly StringBuilder _nginxErrors = new();

    public async Task InitializeAsync()
    {
        var root = RepositoryRoot();
        foreach (var (script, target) in new[] { ("gen-certs.sh", "certs"), ("gen-auth.sh", "auth") })
        {
            var result = await ProcessRunner.RunAsync("bash", [Path.Combine(root, "deploy", "compose", script), _dir.Combine(target)], timeout: TimeSpan.FromSeconds(60));
            Assert.True(result.ExitCode == 0, $"{script}: {result.StandardError}");
        }

        _password = File.ReadAllText(_dir.Combine("auth", "admin-password")).Trim();
        var auth = _dir.Combine("auth");
        var settings = new Dictionary<string, string?>
        {
            // As docker-compose.yml's x-server-serving-environment.
            ["Auth:Mode"] = "Token",
            ["Auth:Token:Realm"] = "/auth/token",
            ["Auth:Token:Service"] = "notary-server",
            ["Auth:Token:Issuer"] = "trustserver",
            ["Auth:Token:RootCertBundle"] = Path.Combine(auth, "token-ca.crt"),
            ["Auth:Issuer:Enabled"] = "true",
            ["Auth:Issuer:SigningKeyFile"] = Path.Combine(auth, "token.key"),
            ["Auth:Issuer:CertificateFile"] = Path.Combine(auth, "token.crt"),
            ["Auth:Issuer:Users:admin:Grants:0:Pattern"] = "*",
            ["Auth:Issuer:Users:admin:Grants:0:Actions"] = "*",
            ["Auth:Issuer:Users:admin:Grants:1:Type"] = "registry",
            ["Auth:Issuer:Users:admin:Grants:1:Pattern"] = "catalog",
            ["Auth:Issuer:Users:admin:Grants:1:Actions"] = "*",
            ["Server:SettingsDirectory"] = Path.Combine(auth, "settings"),
            ["Server:ForwardedHeaders:KnownProxies:0"] = ProxyAddress,
        };
        _server = await TrustServerInstance.StartAsync(new ServerStorage.Sqlite(_dir.Combine("data", "trustserver.db")), settings);

        var nginx = ExecutableLocator.Find("nginx", "/usr/sbin")
            ?? throw new InvalidOperationException("nginx not found: scripts/test.sh installs it (apt package nginx)");
        _proxyPort = TestPorts.GetFreeTcpPort();
        var upstream = new Uri(_server.Url);
        var conf = File.ReadAllText(Path.Combine(root, "deploy", "compose", "nginx.conf"));
        conf = Replace(conf, "server server:4443;", $"server 127.0.0.1:{upstream.Port};");
        conf = Replace(conf, "listen 4443 ssl;", $"listen 127.0.0.1:{_proxyPort} ssl;");
        conf = Replace(conf, "/tmp/", _dir.Path + "/nginx-");
        conf = Replace(conf, "/certs/", _dir.Combine("certs") + "/");
        conf = Replace(conf, "proxy_pass http://trustserver;", $"proxy_pass http://trustserver;\n      proxy_bind {ProxyAddress};");
        File.WriteAllText(_dir.Combine("nginx.conf"), conf);
        _nginx = Process.Start(new ProcessStartInfo(nginx)
        {
            ArgumentList = { "-e", "stderr", "-p", _dir.Path, "-c", _dir.Combine("nginx.conf"), "-g", "daemon off;" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        _nginx.OutputDataReceived += (_, _) => { };
        _nginx.ErrorDataReceived += (_, e) =>
        {
            lock (_nginxErrors)
            {
                _nginxErrors.AppendLine(e.Data);
            }
        };
        _nginx.BeginOutputReadLine();
        _nginx.BeginErrorReadLine();
        await WaitForPortAsync(_proxyPort, _nginx, () => _nginxErrors.ToString());
    }

    public async Task DisposeAsync()
    {
        if (_nginx is { HasExited: false })
        {
            ProcessRunner.KillTree(_nginx);
        }

        _nginx?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _dir.Dispose();
    }

    [Fact]
    public async Task BehindTheProxy_TheRealmIsHttps_AndTheAuditNamesTheClient_WhileTheSameHeadersFromAnyoneElseAreIgnored()
    {
        using var viaProxy = ProxyClient();

        // Through nginx (X-Forwarded-Proto https from the trusted 127.0.0.2): the relative realm becomes https://.
        using (var challenge = await viaProxy.GetAsync("/v2/example.com/app/_trust/tuf/root.json"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, challenge.StatusCode);
            Assert.StartsWith($"Bearer realm=\"https://127.0.0.1:{_proxyPort}/auth/token\"", challenge.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        // The same headers straight from 127.0.0.1 (not a trusted proxy) change nothing.
        using (var direct = new HttpRequestMessage(HttpMethod.Get, "/v2/example.com/app/_trust/tuf/root.json"))
        {
            direct.Headers.Add("X-Forwarded-Proto", "https");
            direct.Headers.Add("X-Forwarded-For", "203.0.113.9");
            using var challenge = await _server!.Http.SendAsync(direct);
            Assert.Equal(HttpStatusCode.Unauthorized, challenge.StatusCode);
            Assert.StartsWith($"Bearer realm=\"{_server.Url}/auth/token\"", challenge.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        // Log in through the proxy as admin with gen-auth.sh's password (its hash came from Server:SettingsDirectory).
        var token = await TokenAsync(viaProxy, "repository:example.com/app:*");

        // An audited action through the proxy, with a forged X-Forwarded-For from the client: the entry has the
        // client's real address (nginx appends it; the walk stops at the first untrusted hop).
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/v2/example.com/app/_trust/tuf/timestamp.key"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            request.Headers.Add("X-Forwarded-For", "198.51.100.7");
            using var response = await viaProxy.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The same action straight from 127.0.0.1 with forged headers: its own address.
        var directToken = await TokenAsync(_server!.Http, "repository:example.com/other:*");
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/v2/example.com/other/_trust/tuf/timestamp.key"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", directToken);
            request.Headers.Add("X-Forwarded-For", "203.0.113.9");
            request.Headers.Add("X-Forwarded-Proto", "https");
            using var response = await _server.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var adminToken = await TokenAsync(viaProxy, "registry:catalog:*");
        Assert.Equal(ClientAddress, await AuditAddressAsync(viaProxy, adminToken, "example.com/app"));
        Assert.Equal("127.0.0.1", await AuditAddressAsync(viaProxy, adminToken, "example.com/other"));
    }

    [Fact]
    public async Task AspNetCoresForwardedHeadersSwitch_TrustsNobodyByItself()
    {
        // ASPNETCORE_FORWARDEDHEADERS_ENABLED=true (FORWARDEDHEADERS_ENABLED in configuration) made ASP.NET Core take the
        // headers from anyone; with no proxy configured they are still ignored.
        await using var server = await TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(_dir.Combine("switch", "trustserver.db")),
            [new("FORWARDEDHEADERS_ENABLED", "true"), new("Auth:Mode", "Token"), new("Auth:Token:Realm", "/auth/token"), new("Auth:Token:Service", "notary-server"),
             new("Auth:Token:Issuer", "trustserver"), new("Auth:Token:RootCertBundle", _dir.Combine("auth", "token-ca.crt"))]);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/example.com/app/_trust/tuf/root.json");
        request.Headers.Add("X-Forwarded-Proto", "https");
        using var challenge = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, challenge.StatusCode);
        Assert.StartsWith($"Bearer realm=\"{server.Url}/auth/token\"", challenge.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Server:ForwardedHeaders:KnownProxies:0", "not-an-address", "KnownProxies: 'not-an-address' is not an IP address")]
    [InlineData("Server:ForwardedHeaders:KnownNetworks:0", "10.0.0.0", "KnownNetworks: '10.0.0.0' is not a network in CIDR notation")]
    public async Task ABadProxySetting_StopsTheStart_NamingIt(string key, string value, string message)
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            TrustServerInstance.StartAsync(new ServerStorage.Sqlite(_dir.Combine("bad", "trustserver.db")), [new(key, value)]));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingSettingsDirectory_StopsTheStart()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            TrustServerInstance.StartAsync(new ServerStorage.Sqlite(_dir.Combine("bad2", "trustserver.db")), [new("Server:SettingsDirectory", _dir.Combine("no-such-dir"))]));
        Assert.Contains("Server:SettingsDirectory", error.Message, StringComparison.Ordinal);
    }

    private async Task<string> TokenAsync(HttpClient client, string scope)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/auth/token?service=notary-server&scope={Uri.EscapeDataString(scope)}");
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + _password)));
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("token").GetString()!;
    }

    private static async Task<string?> AuditAddressAsync(HttpClient client, string token, string gun)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/admin/v1/audit?gun={Uri.EscapeDataString(gun)}&action=key-create");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var body = JsonDocument.Parse(text);
        var item = Assert.Single(body.RootElement.GetProperty("items").EnumerateArray());
        return item.GetProperty("remoteAddress").GetString();
    }

    /// <summary>HTTPS to nginx, trusting gen-certs.sh's CA, from <see cref="ClientAddress"/>.</summary>
    private HttpClient ProxyClient()
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(_dir.Combine("certs", "ca.crt")));
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellation) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(ClientAddress), 0));
                    await socket.ConnectAsync(IPAddress.Loopback, context.DnsEndPoint.Port, cancellation);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, CustomTrustStore = { ca }, RevocationMode = X509RevocationMode.NoCheck },
            },
        };
        return new HttpClient(handler) { BaseAddress = new Uri($"https://127.0.0.1:{_proxyPort}"), Timeout = TimeSpan.FromSeconds(60) };
    }

    private static string Replace(string text, string from, string to)
    {
        Assert.True(text.Contains(from, StringComparison.Ordinal), $"deploy/compose/nginx.conf no longer contains '{from}': update this test");
        return text.Replace(from, to, StringComparison.Ordinal);
    }

    private static async Task WaitForPortAsync(int port, Process process, Func<string> errors)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            Assert.False(process.HasExited, "nginx exited: " + errors());
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline || Fail(errors()))
            {
                await Task.Delay(100);
            }
        }
    }

    private static bool Fail(string errors) => throw new TimeoutException("nginx did not listen within 20 s: " + errors);

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "TrustServer.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("TrustServer.sln not found above " + AppContext.BaseDirectory);
    }
}
