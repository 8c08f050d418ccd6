using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TrustServer.Compat.Tests.Support;
using TrustServer.Server.Auth;
using TrustServer.Testing;

namespace TrustServer.Compat.Tests.Auth;

/// <summary>
/// A server with <c>Auth:Mode=Token</c> and the built-in issuer on SQLite, with users alice (push+pull on
/// <c>example.com/team/*</c>), bob (pull), carol (<c>*</c>) and mallory (no grant), and the GUN prefix <c>example.com/</c>.
/// </summary>
public sealed class BuiltInIssuerServerFixture : IAsyncLifetime
{
    /// <summary>Every user's password.</summary>
    public const string Password = "correct horse battery staple";

    /// <summary>The token service name.</summary>
    public const string Service = "notary-server";

    private readonly TemporaryDirectory _directory = new("trustserver-auth");
    private TrustServerInstance? _server;

    /// <summary>Every log line of the server (at Debug and above).</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    /// <summary>The running server.</summary>
    public TrustServerInstance Instance => _server ?? throw new InvalidOperationException("not started");

    /// <summary>
    /// The token-auth settings of this fixture's server (issuer certificates written under <paramref name="directory"/>),
    /// for other fixtures that need the same users on another database.
    /// </summary>
    public static Dictionary<string, string?> CreateSettings(TemporaryDirectory directory)
    {
        using var ca = TestCertificates.CreateCertificateAuthority("TrustServer Token CA");
        using var signer = TestCertificates.Create(new TestCertificateOptions { CommonName = "TrustServer token signer" }, ca);
        var bundle = ca.WriteCertificatePem(directory.Combine("token-ca.pem"));
        var (certificate, key) = signer.WriteFiles(directory.Path, "token-signer");
        var hash = TokenIssuer.HashPassword(Password);
        var settings = new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "Token",
            ["Auth:Token:Realm"] = "/auth/token",
            ["Auth:Token:Service"] = Service,
            ["Auth:Token:Issuer"] = "trustserver-test",
            ["Auth:Token:RootCertBundle"] = bundle,
            ["Auth:Issuer:Enabled"] = "true",
            ["Auth:Issuer:SigningKeyFile"] = key,
            ["Auth:Issuer:CertificateFile"] = certificate,
            ["Repositories:GunPrefixes:0"] = "example.com/",
            ["Serilog:MinimumLevel:Override:TrustServer"] = "Debug",
            ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore"] = "Debug",
        };
        foreach (var (user, actions) in new[] { ("alice", "push,pull"), ("bob", "pull"), ("carol", "*"), ("mallory", null) })
        {
            settings[$"Auth:Issuer:Users:{user}:PasswordHash"] = hash;
            if (actions is not null)
            {
                settings[$"Auth:Issuer:Users:{user}:Grants:0:Pattern"] = "example.com/team/*";
                settings[$"Auth:Issuer:Users:{user}:Grants:0:Actions"] = actions;
            }
        }

        // An administrator: the catalog scope only (admin API, GET /v2/, global changefeed).
        settings["Auth:Issuer:Users:admin:PasswordHash"] = hash;
        settings["Auth:Issuer:Users:admin:Grants:0:Type"] = "registry";
        settings["Auth:Issuer:Users:admin:Grants:0:Pattern"] = "catalog";
        settings["Auth:Issuer:Users:admin:Grants:0:Actions"] = "*";

        return settings;
    }

    /// <inheritdoc/>
    public async Task InitializeAsync()
    {
        var settings = CreateSettings(_directory);
        _server = await TrustServerInstance.StartAsync(
            new ServerStorage.Sqlite(_directory.Combine("data", "trustserver.db")), settings, services => services.AddSingleton<ILoggerProvider>(Logs));
    }

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _directory.Dispose();
    }
}
