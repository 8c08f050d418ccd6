using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests.Auth;

/// <summary>
/// A small stand-alone Docker token server for tests, independent of TrustServer's issuer code: its own chain
/// (ECDSA root → intermediate → RSA leaf, so tokens are RS256 with a two-certificate <c>x5c</c>), plain-text test
/// users with per-GUN-prefix actions, Kestrel on a free loopback port.
/// </summary>
public sealed class ExternalTokenIssuer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly TestCertificate _root;
    private readonly TestCertificate _intermediate;
    private readonly TestCertificate _leaf;
    private readonly IReadOnlyDictionary<string, (string Password, string Prefix, string[] Actions)> _users;

    private ExternalTokenIssuer(WebApplication app, TestCertificate root, TestCertificate intermediate, TestCertificate leaf, IReadOnlyDictionary<string, (string, string, string[])> users)
    {
        _app = app;
        _root = root;
        _intermediate = intermediate;
        _leaf = leaf;
        _users = users;
    }

    /// <summary>The issuer name (<c>iss</c>).</summary>
    public const string IssuerName = "external-test-issuer";

    /// <summary>Token endpoint URL (the realm).</summary>
    public string Realm { get; private set; } = string.Empty;

    /// <summary>The root certificate to configure as <c>RootCertBundle</c>.</summary>
    public string RootPem => _root.CertificatePem;

    /// <summary>Starts an issuer with the given users (name → password, GUN prefix, actions).</summary>
    public static async Task<ExternalTokenIssuer> StartAsync(string service, IReadOnlyDictionary<string, (string Password, string Prefix, string[] Actions)> users)
    {
        var root = TestCertificates.CreateCertificateAuthority("External Token Root CA");
        var intermediate = TestCertificates.CreateIntermediate(root, "External Token Intermediate CA");
        var leaf = TestCertificates.Create(new TestCertificateOptions { CommonName = "external token signer", KeyAlgorithm = TestKeyAlgorithm.Rsa }, intermediate);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var issuer = new ExternalTokenIssuer(app, root, intermediate, leaf, users);
        app.MapGet("/token", context => issuer.HandleAsync(context, service));
        await app.StartAsync();
        issuer.Realm = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single() + "/token";
        return issuer;
    }

    private async Task HandleAsync(HttpContext context, string service)
    {
        var header = context.Request.Headers.Authorization.ToString();
        string? user = null;
        if (header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..])).Split(':', 2);
            if (!_users.TryGetValue(pair[0], out var entry) || entry.Password != pair[1])
            {
                context.Response.StatusCode = 401;
                return;
            }

            user = pair[0];
        }

        var access = new JsonArray();
        foreach (var scope in context.Request.Query["scope"].SelectMany(s => (s ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries)))
        {
            var first = scope.IndexOf(':', StringComparison.Ordinal);
            var last = scope.LastIndexOf(':');
            var name = scope[(first + 1)..last];
            if (user is null || !name.StartsWith(_users[user].Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var held = _users[user].Actions;
            var granted = scope[(last + 1)..].Split(',').SelectMany(a => held.Contains("*") ? [a] : a == "*" ? held : held.Contains(a) ? [a] : []).Distinct().ToArray();
            access.Add(new JsonObject { ["type"] = scope[..first], ["name"] = name, ["actions"] = new JsonArray([.. granted.Select(a => JsonValue.Create(a))]) });
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var jwsHeader = new JsonObject
        {
            ["typ"] = "JWT",
            ["alg"] = "RS256",
            ["x5c"] = new JsonArray(Convert.ToBase64String(_leaf.Certificate.RawData), Convert.ToBase64String(_intermediate.Certificate.RawData)),
        };
        var claims = new JsonObject
        {
            ["iss"] = IssuerName, ["sub"] = user ?? "", ["aud"] = service, ["exp"] = now + 300, ["nbf"] = now - 10, ["iat"] = now,
            ["jti"] = Guid.NewGuid().ToString("N"), ["access"] = access,
        };
        var input = B64(Encoding.UTF8.GetBytes(jwsHeader.ToJsonString())) + "." + B64(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var signature = ((RSA)_leaf.PrivateKey).SignData(Encoding.ASCII.GetBytes(input), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var token = input + "." + B64(signature);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JsonObject { ["token"] = token, ["expires_in"] = 300 }.ToJsonString());
    }

    private static string B64(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _leaf.Dispose();
        _intermediate.Dispose();
        _root.Dispose();
    }
}
