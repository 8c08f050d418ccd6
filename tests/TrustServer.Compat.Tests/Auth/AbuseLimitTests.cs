using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using TrustServer.Compat.Tests.Support;
using TrustServer.Server.Auth;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests.Auth;

/// <summary>
/// Abuse limits over raw HTTP against real servers (one per test, since the limits keep state): key creation per
/// client, failed logins and concurrent password checks at the built-in issuer, scope names, NumericDate claims.
/// Requests from a second loopback address (127.0.0.2) stand for another client.
/// </summary>
public sealed class AbuseLimitTests : IDisposable
{
    private const string Password = "correct horse battery staple";
    private const string Service = "notary-server";
    private const string Issuer = "trustserver-abuse-test";

    private readonly TemporaryDirectory _directory = new("trustserver-abuse");
    private readonly TestCertificate _ca = TestCertificates.CreateCertificateAuthority("Abuse Token CA");
    private readonly TestCertificate _signer;

    public AbuseLimitTests() => _signer = TestCertificates.Create(new TestCertificateOptions { CommonName = "abuse token signer" }, _ca);

    [Fact]
    public async Task KeyCreation_BeyondTheClientsAllowance_Gets429WithRetryAfter_HeldKeysAndOtherClientsAreServed()
    {
        await using var server = await StartAsync(token: false, new() { ["RateLimits:KeyCreations"] = "3", ["RateLimits:KeyCreationWindow"] = "01:00:00" });
        var published = NewGun("published");
        using (var notary = server.NewClient())
        {
            // init asks for the timestamp key once: the first of the three creations.
            await notary.RunCheckedAsync(["init", published, "--publish"]);
        }

        Assert.Equal(HttpStatusCode.OK, (await GetKeyAsync(server.Http, NewGun("a"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await GetKeyAsync(server.Http, NewGun("b"))).StatusCode);

        using (var limited = await GetKeyAsync(server.Http, NewGun("c")))
        {
            await AssertTooManyKeysAsync(limited);
        }

        // Rotation always creates a key: limited too. The snapshot key of a client-managed snapshot is not held: a creation.
        using (var rotate = await server.Http.PostAsync($"/v2/{published}/_trust/tuf/timestamp.key", null))
        {
            await AssertTooManyKeysAsync(rotate);
        }

        await AssertTooManyKeysAsync(await GetKeyAsync(server.Http, published, "snapshot"));

        // The timestamp key the published root lists is a read: served.
        using (var held = await GetKeyAsync(server.Http, published))
        {
            Assert.Equal(HttpStatusCode.OK, held.StatusCode);
            Assert.StartsWith("{\"keytype\":\"ecdsa\"", await held.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Another client (address) has its own allowance.
        using var other = FromOtherAddress(server);
        Assert.Equal(HttpStatusCode.OK, (await GetKeyAsync(other, NewGun("d"))).StatusCode);
    }

    [Fact]
    public async Task KeyCreation_WithTokens_CountsPerSubjectNotPerAddress()
    {
        await using var server = await StartAsync(token: true, new() { ["RateLimits:KeyCreations"] = "2", ["RateLimits:KeyCreationWindow"] = "01:00:00" });
        foreach (var name in new[] { "a1", "a2" })
        {
            var gun = NewGun(name);
            Assert.Equal(HttpStatusCode.OK, (await GetKeyAsync(server.Http, gun, bearer: Token("alice", gun))).StatusCode);
        }

        var third = NewGun("a3");
        await AssertTooManyKeysAsync(await GetKeyAsync(server.Http, third, bearer: Token("alice", third)));

        // Same address, another subject.
        var bobs = NewGun("b1");
        Assert.Equal(HttpStatusCode.OK, (await GetKeyAsync(server.Http, bobs, bearer: Token("bob", bobs))).StatusCode);
    }

    [Fact]
    public async Task Issuer_FailedLogins_ThrottledPerUserAndPerAddress_With429AndRetryAfter()
    {
        await using var server = await StartAsync(token: true, new() { ["Auth:Issuer:MaxFailedAttempts"] = "3", ["Auth:Issuer:FailedAttemptsWindow"] = "01:00:00" });
        using var other = FromOtherAddress(server);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await TokenRequestAsync(server.Http, "alice", "wrong " + i)).StatusCode);
        }

        // Now even the right password is not checked: for alice from anywhere, and for anyone from this address.
        using (var throttled = await TokenRequestAsync(server.Http, "alice", Password))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
            var retryAfter = int.Parse(throttled.Headers.GetValues("Retry-After").Single(), NumberStyles.None, CultureInfo.InvariantCulture);
            Assert.InRange(retryAfter, 1, 1200);
            var error = JsonNode.Parse(await throttled.Content.ReadAsStringAsync())!["errors"]![0]!;
            Assert.Equal("TOOMANYREQUESTS", error["code"]!.GetValue<string>());
            Assert.Equal("too many requests", error["message"]!.GetValue<string>());
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, (await TokenRequestAsync(other, "alice", Password)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await TokenRequestAsync(server.Http, "bob", Password)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await TokenRequestAsync(other, "bob", Password)).StatusCode);

        // Requests without credentials check no password and are not throttled.
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync($"/auth/token?service={Service}&scope=repository:example.com/team/x:pull")).StatusCode);
    }

    [Fact]
    public async Task Issuer_MorePasswordChecksThanAllowedAtOnce_Get503WithRetryAfter_NeverAnError()
    {
        await using var server = await StartAsync(token: true, new()
        {
            ["Auth:Issuer:MaxConcurrentPasswordChecks"] = "1",
            ["Auth:Issuer:PasswordCheckQueueLimit"] = "0",
            ["Auth:Issuer:MaxFailedAttempts"] = "0",
        });

        // 40 logins at once, each a PBKDF2 check of tens of milliseconds: one runs, those arriving meanwhile are refused.
        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => TokenRequestAsync(server.Http, "alice", Password)));
        try
        {
            Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.ServiceUnavailable }));
            Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
            var busy = responses.First(r => r.StatusCode == HttpStatusCode.ServiceUnavailable);
            Assert.Equal("1", busy.Headers.GetValues("Retry-After").Single());
            Assert.Equal("UNAVAILABLE", JsonNode.Parse(await busy.Content.ReadAsStringAsync())!["errors"]![0]!["code"]!.GetValue<string>());
        }
        finally
        {
            Array.ForEach(responses, r => r.Dispose());
        }
    }

    [Fact]
    public async Task Issuer_ScopeNamesOutsideTheReferenceGrammar_Answer400NameInvalid_ToUsersAndAnonymous()
    {
        await using var server = await StartAsync(token: true, []);
        string[] invalid =
        [
            "example.com/team/../secret/x", "example.com/team/./x", "example.com//team/x", "example.com/team/%2e%2e/x", "example.com/team/x%2fy",
            "example.com/team/x/", "/example.com/team/x", "example.com/Team/x", "example.com/team/-x", "example.com/team/x\n",
            "example.com/team/" + new string('a', 256 - "example.com/team/".Length),
        ];
        foreach (var name in invalid)
        {
            foreach (var user in new[] { "carol", null })
            {
                using var response = await TokenRequestAsync(server.Http, user, Password, $"repository:{name}:pull");
                Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{name} ({user ?? "anonymous"}): {response.StatusCode}");
                var error = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]![0]!;
                Assert.Equal("NAME_INVALID", error["code"]!.GetValue<string>());
                Assert.Equal(name, error["detail"]!.GetValue<string>());
            }
        }

        // Names of the grammar are granted as configured (carol: * on example.com/team/*).
        string[] valid = ["example.com/team/a_b__c-d.e--f", "example.com/team/x/y/z", "example.com/team/" + new string('a', 255 - "example.com/team/".Length)];
        foreach (var name in valid)
        {
            using var response = await TokenRequestAsync(server.Http, "carol", Password, $"repository:{name}:pull");
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{name}: {response.StatusCode}");
            var claims = JsonNode.Parse(Base64Url(JsonNode.Parse(await response.Content.ReadAsStringAsync())!["token"]!.GetValue<string>().Split('.')[1]))!;
            Assert.Equal(name, claims["access"]![0]!["name"]!.GetValue<string>());
        }

        foreach (var name in new[] { "localhost:5000/team/x", "[::1]:5000/team/x", "Registry.Example.COM/team/x", "catalog" })
        {
            using var response = await TokenRequestAsync(server.Http, "carol", Password, $"repository:{name}:pull");
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{name}: {response.StatusCode}");
        }
    }

    [Fact]
    public async Task Token_WithDateClaimsAsJsonStrings_IsRefusedAsInvalidToken()
    {
        await using var server = await StartAsync(token: true, []);
        var gun = NewGun("dates");
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        // Correctly signed, numeric dates: accepted (the GUN has no metadata: 404).
        using (var accepted = await GetRootAsync(server, Sign(Claims("alice", gun, now))))
        {
            Assert.Equal(HttpStatusCode.NotFound, accepted.StatusCode);
        }

        foreach (var (claim, value) in new[] { ("exp", "9999999999"), ("nbf", (now - 10).ToString(CultureInfo.InvariantCulture)), ("iat", now.ToString(CultureInfo.InvariantCulture)) })
        {
            var claims = Claims("alice", gun, now);
            claims[claim] = value;
            using var refused = await GetRootAsync(server, Sign(claims));
            Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{claim} as a string: {refused.StatusCode}");
            Assert.EndsWith(",error=\"invalid_token\"", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            Assert.Contains("\"code\":\"UNAUTHORIZED\"", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
    }

    public void Dispose()
    {
        _signer.Dispose();
        _ca.Dispose();
        _directory.Dispose();
    }

    private async Task<TrustServerInstance> StartAsync(bool token, Dictionary<string, string?> settings)
    {
        var data = _directory.Combine("data-" + Guid.NewGuid().ToString("N"), "trustserver.db");
        if (token)
        {
            var bundle = _ca.WriteCertificatePem(_directory.Combine("token-ca.pem"));
            var (certificate, key) = _signer.WriteFiles(_directory.Path, "token-signer");
            settings["Auth:Mode"] = "Token";
            settings["Auth:Token:Realm"] = "/auth/token";
            settings["Auth:Token:Service"] = Service;
            settings["Auth:Token:Issuer"] = Issuer;
            settings["Auth:Token:RootCertBundle"] = bundle;
            settings["Auth:Issuer:Enabled"] = "true";
            settings["Auth:Issuer:SigningKeyFile"] = key;
            settings["Auth:Issuer:CertificateFile"] = certificate;
            settings["Auth:Issuer:AnonymousGrants:0:Pattern"] = "example.com/*";
            var hash = TokenIssuer.HashPassword(Password);
            foreach (var (user, actions) in new[] { ("alice", "push,pull"), ("bob", "push,pull"), ("carol", "*") })
            {
                settings[$"Auth:Issuer:Users:{user}:PasswordHash"] = hash;
                settings[$"Auth:Issuer:Users:{user}:Grants:0:Pattern"] = user == "carol" ? "*" : "example.com/team/*";
                settings[$"Auth:Issuer:Users:{user}:Grants:0:Actions"] = actions;
            }
        }

        return await TrustServerInstance.StartAsync(new ServerStorage.Sqlite(data), settings);
    }

    private static string NewGun(string name) => $"example.com/team/{name}-{Guid.NewGuid():N}";

    private static async Task<HttpResponseMessage> GetKeyAsync(HttpClient http, string gun, string role = "timestamp", string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{gun}/_trust/tuf/{role}.key");
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return await http.SendAsync(request);
    }

    private static async Task AssertTooManyKeysAsync(HttpResponseMessage response)
    {
        using (response)
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            var retryAfter = int.Parse(response.Headers.GetValues("Retry-After").Single(), NumberStyles.None, CultureInfo.InvariantCulture);
            Assert.InRange(retryAfter, 1, 3600);
            Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType!.ToString());
            Assert.Equal(
                $"{{\"errors\":[{{\"code\":\"TOOMANYREQUESTS\",\"message\":\"too many requests\",\"detail\":\"too many signing keys created by this client; retry after {retryAfter} s\"}}]}}\n",
                await response.Content.ReadAsStringAsync());
        }
    }

    private static async Task<HttpResponseMessage> TokenRequestAsync(HttpClient http, string? user, string password, string scope = "repository:example.com/team/x:push,pull")
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/auth/token?service={Service}&scope={Uri.EscapeDataString(scope)}");
        if (user is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        }

        return await http.SendAsync(request);
    }

    private static async Task<HttpResponseMessage> GetRootAsync(TrustServerInstance server, string token)
    {
        var gun = JsonNode.Parse(Base64Url(token.Split('.')[1]))!["access"]![0]!["name"]!.GetValue<string>();
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{gun}/_trust/tuf/root.json");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await server.Http.SendAsync(request);
    }

    // A token of the issuer's key for (gun, push+pull), independent of the server's issuer code.
    private string Token(string subject, string gun) => Sign(Claims(subject, gun, DateTimeOffset.UtcNow.ToUnixTimeSeconds()));

    private static JsonObject Claims(string subject, string gun, long now) => new()
    {
        ["iss"] = Issuer,
        ["sub"] = subject,
        ["aud"] = Service,
        ["exp"] = now + 300,
        ["nbf"] = now - 10,
        ["iat"] = now,
        ["jti"] = Guid.NewGuid().ToString("N"),
        ["access"] = new JsonArray(new JsonObject { ["type"] = "repository", ["name"] = gun, ["actions"] = new JsonArray("push", "pull") }),
    };

    private string Sign(JsonObject claims)
    {
        var header = new JsonObject { ["typ"] = "JWT", ["alg"] = "ES256", ["x5c"] = new JsonArray(Convert.ToBase64String(_signer.Certificate.RawData)) };
        var input = B64(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + B64(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var signature = ((ECDsa)_signer.PrivateKey).SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256);
        return input + "." + B64(signature);
    }

    private static string B64(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static byte[] Base64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded + new string('=', (4 - padded.Length % 4) % 4));
    }

    // A client whose connections come from 127.0.0.2 (any 127/8 address is loopback on Linux).
    private static HttpClient FromOtherAddress(TrustServerInstance server) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    })
    { BaseAddress = new Uri(server.Url), Timeout = TimeSpan.FromSeconds(60) };
}
