using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace TrustServer.Server.Auth;

/// <summary>
/// The optional built-in Docker token issuer (distribution's token spec, as the notary client uses it: spec auth.md §5):
/// <c>GET &lt;path&gt;?service=…&amp;scope=…</c> with HTTP basic credentials (or none: anonymous) answers
/// <c>{"token","access_token","expires_in","issued_at"}</c>. Granted access = requested ∩ the user's grants, where a
/// requested <c>*</c> yields the actions the user holds (so <c>key rotate</c>, which asks for <c>*</c>, works for a
/// push user as far as the server lets push do it) and a granted <c>*</c> covers any request. Tokens are issued for
/// <c>Auth:Token:Service</c> and every <c>Auth:Issuer:Services</c> entry, each with its own audience; a service's
/// repository names are matched against the grants with its <c>RepositoryPrefix</c> in front (<see cref="IssuedService"/>).
/// </summary>
internal sealed partial class TokenIssuer
{
    private static readonly PasswordHasher<IssuerUser> Hasher = new();

    // Compared against for unknown users so that a wrong user name costs as much as a wrong password.
    private static readonly string DummyHash = Hasher.HashPassword(new IssuerUser(), Guid.NewGuid().ToString());

    private readonly TokenIssuerOptions _options;
    private readonly string _issuer;
    private readonly IssuedService _ownService;
    private readonly IReadOnlyDictionary<string, IssuedService> _services;
    private readonly AsymmetricAlgorithm _key;
    private readonly string _algorithm;
    private readonly string[] _x5c;
    private readonly TimeProvider _time;
    private readonly ILogger<TokenIssuer> _logger;
    private readonly IssuerThrottle _throttle;

    public TokenIssuer(
        IOptions<TokenIssuerOptions> options, IOptions<TokenAuthOptions> tokenOptions, RegistryTokenValidator validator, IssuerThrottle throttle, TimeProvider time, ILogger<TokenIssuer> logger)
    {
        _options = options.Value;
        _throttle = throttle;
        _issuer = tokenOptions.Value.Issuer!;
        var (services, errors) = IssuerServices.Build(tokenOptions.Value.Service!, _options.Services);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join("; ", errors));
        }

        _services = services;
        _ownService = services[tokenOptions.Value.Service!];
        _time = time;
        _logger = logger;
        if (string.IsNullOrEmpty(_options.SigningKeyFile) || string.IsNullOrEmpty(_options.CertificateFile))
        {
            throw new InvalidOperationException("Auth:Issuer:SigningKeyFile and Auth:Issuer:CertificateFile are required when the issuer is enabled.");
        }

        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(_options.CertificateFile);
        if (chain.Count == 0)
        {
            throw new InvalidOperationException($"Auth:Issuer:CertificateFile '{_options.CertificateFile}' holds no certificate.");
        }

        using var leaf = X509Certificate2.CreateFromPemFile(_options.CertificateFile, _options.SigningKeyFile);
        (_key, _algorithm) = leaf.GetECDsaPrivateKey() is { } ec
            ? (ec, ec.KeySize switch { 256 => "ES256", 384 => "ES384", 521 => "ES512", _ => throw new InvalidOperationException("Auth:Issuer: unsupported ECDSA curve.") })
            : leaf.GetRSAPrivateKey() is { } rsa ? ((AsymmetricAlgorithm)rsa, "RS256") : throw new InvalidOperationException("Auth:Issuer: the signing key must be ECDSA or RSA.");

        // The validator must accept what we issue: fail at start rather than on the first request.
        if (validator.VerifyChain([.. chain]) is { } error)
        {
            throw new InvalidOperationException($"Auth:Issuer:CertificateFile does not chain to Auth:Token:RootCertBundle: {error}");
        }

        _x5c = [.. chain.Select(c => Convert.ToBase64String(c.RawData))];
        foreach (var user in _options.Users)
        {
            if (string.IsNullOrEmpty(user.Value.PasswordHash))
            {
                throw new InvalidOperationException($"Auth:Issuer:Users:{user.Key}:PasswordHash is missing (make one with the hash-password command).");
            }
        }
    }

    /// <summary>Hashes a password for <c>Auth:Issuer:Users:&lt;name&gt;:PasswordHash</c> (ASP.NET Core Identity, PBKDF2).</summary>
    public static string HashPassword(string password) => Hasher.HashPassword(new IssuerUser(), password);

    /// <summary>Serves a token request.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        var query = context.Request.Query;
        var serviceName = query["service"].FirstOrDefault();
        var service = _ownService;
        if (!string.IsNullOrEmpty(serviceName) && !_services.TryGetValue(serviceName, out service))
        {
            LogUnknownService(_logger, serviceName.Length > 100 ? serviceName[..100] + "…" : serviceName);
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "INVALID_SERVICE", "unknown service");
            return;
        }

        // Names outside the Docker reference grammar (.., //, %-escapes) are never granted, to anyone.
        var requested = Scopes.Parse(query["scope"]);
        if (requested.FirstOrDefault(r => !RepositoryNames.IsValid(r.Name) || !RepositoryNames.IsValid(service.GrantName(r.Type, r.Name))) is { } invalid)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "NAME_INVALID", "invalid repository name", invalid.Name);
            return;
        }

        string? subject = null;
        IEnumerable<IssuerGrant> grants;
        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.Length == 0)
        {
            grants = _options.AnonymousGrants.Select(g => new IssuerGrant { Type = g.Type, Pattern = g.Pattern, Actions = "pull" });
        }
        else if (await AuthenticateAsync(context, authorization) is { } user)
        {
            subject = user.Name;
            grants = user.User.Grants;
        }
        else
        {
            return;
        }

        var access = Grant(requested, [.. grants], service.GrantName);
        var now = _time.GetUtcNow();
        var lifetime = Math.Max(60, _options.TokenLifetimeSeconds);
        var token = Sign(subject, service.Audience, access, now, lifetime);
        LogIssued(_logger, subject ?? "(anonymous)", service.Name, string.Join(' ', access.Select(a => $"{a.Type}:{a.Name}:{string.Join(',', a.Actions)}")));

        var body = new JsonObject
        {
            ["token"] = token,
            ["access_token"] = token,
            ["expires_in"] = lifetime,
            ["issued_at"] = now.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        };
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    /// <summary>
    /// requested ∩ grants (see the class remarks); <paramref name="grantName"/> (type, name) gives the name the grant
    /// patterns are matched against (a service's repository prefix), the entries keep the requested names.
    /// </summary>
    public static IReadOnlyList<AccessEntry> Grant(IReadOnlyList<AccessEntry> requested, IReadOnlyList<IssuerGrant> grants, Func<string, string, string>? grantName = null)
    {
        var result = new List<AccessEntry>();
        foreach (var group in requested.GroupBy(r => (r.Type, r.Name)))
        {
            var matched = grantName?.Invoke(group.Key.Type, group.Key.Name) ?? group.Key.Name;
            var held = grants.Where(g => g.Type == group.Key.Type && Matches(g.Pattern, matched))
                .SelectMany(g => g.Actions.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .ToHashSet(StringComparer.Ordinal);
            var actions = new List<string>();
            foreach (var action in group.SelectMany(r => r.Actions).Distinct())
            {
                if (held.Contains("*"))
                {
                    actions.Add(action);
                }
                else if (action == "*")
                {
                    actions.AddRange(held);
                }
                else if (held.Contains(action))
                {
                    actions.Add(action);
                }
            }

            if (actions.Count > 0)
            {
                result.Add(new AccessEntry(group.Key.Type, group.Key.Name, [.. actions.Distinct()]));
            }
        }

        return result;
    }

    /// <summary>Glob match: <c>*</c> is any run of characters (slashes too), everything else literal.</summary>
    public static bool Matches(string pattern, string name) =>
        Regex.IsMatch(name, "^" + string.Join(".*", pattern.Split('*').Select(Regex.Escape)) + "$", RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromSeconds(1));

    // The user for valid basic credentials; otherwise the 401 (or 429 / 503 when throttled) has been written. Failed
    // attempts count per user name and per address, and beyond the limit no password is checked at all.
    private async Task<(string Name, IssuerUser User)?> AuthenticateAsync(HttpContext context, string authorization)
    {
        var credentials = ParseBasic(authorization);
        var address = ClientThrottling.Address(context);
        if (_throttle.RetryAfter(credentials?.User, address) is { } wait)
        {
            LogThrottled(_logger, credentials?.User ?? string.Empty, address, wait);
            ClientThrottling.SetRetryAfter(context.Response, wait);
            await WriteErrorAsync(context, StatusCodes.Status429TooManyRequests, "TOOMANYREQUESTS", "too many requests", "too many failed logins; retry later");
            return null;
        }

        IssuerUser? user = null;
        if (credentials is { } c)
        {
            bool busy;
            using (var slot = await _throttle.EnterPasswordCheckAsync(context.RequestAborted))
            {
                busy = !slot.IsAcquired;
                user = busy ? null : Verify(c.User, c.Password);
            }

            if (busy)
            {
                LogBusy(_logger);
                ClientThrottling.SetRetryAfter(context.Response, 1);
                await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "UNAVAILABLE", "service unavailable", "too many logins at once; retry later");
                return null;
            }
        }

        if (user is null)
        {
            _throttle.RecordFailure(credentials?.User, address);
            LogBadCredentials(_logger, credentials?.User ?? string.Empty);
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"TrustServer\"";
            await WriteErrorAsync(context, StatusCodes.Status401Unauthorized, "UNAUTHORIZED", "authentication required");
            return null;
        }

        return (credentials!.Value.User, user);
    }

    private IssuerUser? Verify(string name, string password)
    {
        var known = _options.Users.TryGetValue(name, out var user);
        PasswordVerificationResult outcome;
        try
        {
            outcome = Hasher.VerifyHashedPassword(user ?? new IssuerUser(), known ? user!.PasswordHash! : DummyHash, password);
        }
        catch (FormatException)
        {
            outcome = PasswordVerificationResult.Failed;
        }

        return known && outcome != PasswordVerificationResult.Failed ? user : null;
    }

    private static (string User, string Password)? ParseBasic(string header)
    {
        var parts = header.Split(' ', 2);
        if (parts.Length != 2 || !string.Equals(parts[0], "basic", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(parts[1].Trim()));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            return colon < 0 ? null : (text[..colon], text[(colon + 1)..]);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private string Sign(string? subject, string audience, IReadOnlyList<AccessEntry> access, DateTimeOffset now, int lifetime)
    {
        var header = new JsonObject { ["typ"] = "JWT", ["alg"] = _algorithm, ["x5c"] = new JsonArray([.. _x5c.Select(c => JsonValue.Create(c))]) };
        var claims = new JsonObject
        {
            ["iss"] = _issuer,
            ["sub"] = subject ?? string.Empty,
            ["aud"] = audience,
            ["exp"] = now.ToUnixTimeSeconds() + lifetime,
            ["nbf"] = now.ToUnixTimeSeconds(),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["jti"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)),
            ["access"] = new JsonArray([.. access.Select(a => a.ToJson())]),
        };
        var input = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Base64Url.EncodeToString(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var data = Encoding.ASCII.GetBytes(input);
        var hash = _algorithm switch { "ES384" => HashAlgorithmName.SHA384, "ES512" => HashAlgorithmName.SHA512, _ => HashAlgorithmName.SHA256 };
        // JWS ECDSA signatures are raw r‖s (IEEE P1363, .NET's default format).
        var signature = _key is ECDsa ec ? ec.SignData(data, hash) : ((RSA)_key).SignData(data, hash, RSASignaturePadding.Pkcs1);
        return input + "." + Base64Url.EncodeToString(signature);
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string code, string message, string? detail = null)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var error = new JsonObject { ["code"] = code, ["message"] = message };
        if (detail is not null)
        {
            error["detail"] = detail;
        }

        var body = new JsonObject { ["errors"] = new JsonArray(error) };
        return context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    [LoggerMessage(EventId = 1311, Level = LogLevel.Information, Message = "Issued a token to {Subject} for service {Service}: {Access}")]
    private static partial void LogIssued(ILogger logger, string subject, string service, string access);

    [LoggerMessage(EventId = 1312, Level = LogLevel.Warning, Message = "Token request with bad credentials for user {User}")]
    private static partial void LogBadCredentials(ILogger logger, string user);

    [LoggerMessage(EventId = 1313, Level = LogLevel.Warning, Message = "Token request for user {User} from {Address} refused: too many failed logins (retry after {RetryAfterSeconds} s)")]
    private static partial void LogThrottled(ILogger logger, string user, string address, int retryAfterSeconds);

    [LoggerMessage(EventId = 1314, Level = LogLevel.Warning, Message = "Token request refused: the password-check queue is full (Auth:Issuer:PasswordCheckQueueLimit)")]
    private static partial void LogBusy(ILogger logger);

    [LoggerMessage(EventId = 1600, Level = LogLevel.Warning, Message = "Token request for unknown service {Service} refused (not Auth:Token:Service nor in Auth:Issuer:Services)")]
    private static partial void LogUnknownService(ILogger logger, string service);
}
