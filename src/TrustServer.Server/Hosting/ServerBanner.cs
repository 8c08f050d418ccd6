using System.Net;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using TrustServer.Server.Auth;
using TrustServer.Server.Observability;
using TrustServer.Server.Options;

namespace TrustServer.Server.Hosting;

/// <summary>
/// Tells whoever started the server where it listens and how to point clients at it: as text when stdout is for
/// people (Development), else as structured log events, so that in Production every stdout line is JSON.
/// </summary>
internal static partial class ServerBanner
{
    /// <summary>The trust directory the banner and the README's quick start give the notary client.</summary>
    public const string TrustDirectory = "~/.notary-trustserver";

    public static void Print(WebApplication app)
    {
        var services = app.Services;
        var addresses = services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
        var storage = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        var signing = services.GetRequiredService<IOptions<SigningOptions>>().Value;
        var auth = DescribeAuth(services);
        var tls = services.GetService<DevelopmentTlsMaterial>();
        if (ObservabilityExtensions.ConsoleIsText(services))
        {
            Console.Write(Text(addresses, $"{storage.Provider}; signing: {signing.Mode} ({signing.KeyAlgorithm} server keys)", auth, tls));
            return;
        }

        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ServerBanner));
        LogListening(logger, string.Join(", ", addresses), storage.Provider, signing.Mode, auth.Summary);
        if (tls is not null)
        {
            LogDevelopmentTls(logger, tls.CaFile, string.Join(", ", tls.Names), tls.Generated);
        }
    }

    /// <summary>The text banner: where it listens, what it runs on, and client commands that work with this configuration.</summary>
    internal static string Text(IReadOnlyList<string> addresses, string setup, AuthDescription auth, DevelopmentTlsMaterial? tls)
    {
        var url = ClientUrl(addresses);
        var tlsOption = tls is not null && url.StartsWith("https://", StringComparison.Ordinal) ? $" --tlscacert {tls.CaFile}" : string.Empty;
        var notary = $"notary -s {url}{tlsOption} -d {TrustDirectory}";
        var text = new StringBuilder();
        text.AppendLine($"TrustServer (Notary v1 API) listening on {string.Join(", ", addresses)}");
        text.AppendLine($"  storage: {setup}");
        text.AppendLine($"  auth: {auth.Summary}");
        if (tls is not null)
        {
            text.AppendLine($"  TLS: development certificate for {string.Join(", ", tls.Names)} (generated: {tls.Generated}); clients trust the CA {tls.CaFile}");
        }

        text.AppendLine("Point the notary client at it (the passphrases protect the keys the client creates; choose your own):");
        text.AppendLine("  export NOTARY_ROOT_PASSPHRASE=rootpass NOTARY_TARGETS_PASSPHRASE=targetspass \\");
        text.AppendLine("         NOTARY_SNAPSHOT_PASSPHRASE=snapshotpass NOTARY_DELEGATION_PASSPHRASE=delegationpass");
        foreach (var line in auth.ClientLines)
        {
            text.AppendLine("  " + line);
        }

        text.AppendLine($"  {notary} init example.com/my/repo --publish");
        text.AppendLine($"  {notary} add example.com/my/repo v1 ./file --publish");
        text.AppendLine($"  {notary} list example.com/my/repo");
        if (url.StartsWith("https://", StringComparison.Ordinal))
        {
            var hostPort = new Uri(url).Authority;
            text.AppendLine("docker trust (Docker CLI <= 28, or the docker-trust plugin) needs https and the CA under ~/.docker/tls/<host:port>/:");
            if (tls is not null)
            {
                text.AppendLine($"  mkdir -p ~/.docker/tls/{hostPort} && cp {tls.CaFile} ~/.docker/tls/{hostPort}/ca.crt");
            }

            text.AppendLine($"  export DOCKER_CONTENT_TRUST_SERVER={url}");
        }

        return text.ToString();
    }

    /// <summary>
    /// The URL clients use: the first https address, else the first; a wildcard host becomes the machine's host name
    /// for https (the development certificate names it) and 127.0.0.1 for http.
    /// </summary>
    internal static string ClientUrl(IReadOnlyList<string> addresses)
    {
        var address = addresses.FirstOrDefault(a => a.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) ?? addresses.FirstOrDefault() ?? TrustServerHost.DefaultUrl;
        var schemeEnd = address.IndexOf("://", StringComparison.Ordinal) + 3;
        var portStart = address.LastIndexOf(':');
        if (schemeEnd < 3 || portStart < schemeEnd)
        {
            return address.TrimEnd('/');
        }

        var host = address[schemeEnd..portStart];
        if (host is "0.0.0.0" or "[::]" or "*" or "+")
        {
            var https = address.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            host = https ? Dns.GetHostName().ToLowerInvariant() : "127.0.0.1";
        }

        return (address[..schemeEnd] + host + address[portStart..]).TrimEnd('/');
    }

    /// <summary>Whether clients need credentials, and the lines that give them what they need.</summary>
    internal static AuthDescription DescribeAuth(IServiceProvider services)
    {
        var mode = services.GetRequiredService<IOptions<AuthOptions>>().Value;
        if (!mode.IsToken)
        {
            return new("off (Auth:Mode=None: anyone who can reach the server may publish and delete)", []);
        }

        var issuer = services.GetRequiredService<IOptions<TokenIssuerOptions>>().Value;
        if (!issuer.Enabled)
        {
            var realm = services.GetRequiredService<IOptions<TokenAuthOptions>>().Value.Realm ?? "the Auth:Token:Realm";
            return new(
                $"on (Auth:Mode=Token): tokens come from the token service {realm}",
                ["export NOTARY_AUTH=$(printf 'USER:PASSWORD' | base64)   # credentials of that token service"]);
        }

        if (issuer.Users.Count == 0)
        {
            return new(
                $"on (Auth:Mode=Token, built-in issuer at {issuer.Path}); no users are configured, so only the anonymous grants apply",
                ["# add a user: hash-password, then Auth:Issuer:Users:<name>:PasswordHash and Grants (README \"Authentication\")"]);
        }

        var users = string.Join(", ", issuer.Users.Keys.Order(StringComparer.Ordinal));
        return new(
            $"on (Auth:Mode=Token, built-in issuer at {issuer.Path}; users: {users})",
            [$"export NOTARY_AUTH=$(printf '{issuer.Users.Keys.Order(StringComparer.Ordinal).First()}:PASSWORD' | base64)   # a user of Auth:Issuer:Users and its password"]);
    }

    [LoggerMessage(EventId = 1620, Level = LogLevel.Information, Message = "TrustServer (Notary v1 API) listening on {Addresses}; storage {Storage}, signing {Signing}, auth {Auth}")]
    private static partial void LogListening(ILogger logger, string addresses, string storage, string signing, string auth);

    [LoggerMessage(EventId = 1621, Level = LogLevel.Information, Message = "Development TLS certificate for {Names} (generated: {Generated}); clients trust the CA {CaFile}")]
    private static partial void LogDevelopmentTls(ILogger logger, string caFile, string names, string generated);
}

/// <summary>What the banner says about authentication.</summary>
/// <param name="Summary">One line: off, or on and where tokens come from.</param>
/// <param name="ClientLines">Shell lines that give the notary client its credentials.</param>
internal sealed record AuthDescription(string Summary, IReadOnlyList<string> ClientLines);
