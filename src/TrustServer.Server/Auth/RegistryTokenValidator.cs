using System.Buffers.Text;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace TrustServer.Server.Auth;

/// <summary>A token that passed validation: who it is for and what it grants.</summary>
internal sealed record RegistryToken(string? Subject, IReadOnlyList<AccessEntry> Access, JsonWebToken Jwt);

/// <summary>Outcome of <see cref="RegistryTokenValidator.ValidateAsync"/>: a token, or why there is none (never the token text).</summary>
internal sealed record RegistryTokenCheck(RegistryToken? Token, string? Error)
{
    public static RegistryTokenCheck Fail(string error) => new(null, error);
}

/// <summary>
/// Validates Docker registry bearer tokens as docker/distribution's token access controller does (spec auth.md §3):
/// the signing key comes from an <c>x5c</c> chain leading to a certificate of the root bundle, or from a <c>kid</c>
/// naming (libtrust key ID) a bundle certificate's key; <c>iss</c>/<c>aud</c> exact, <c>aud</c> a single string;
/// <c>exp</c>/<c>nbf</c> with 60 s leeway; ES256/384/512 and RS256/384/512 only (libtrust's set; <c>none</c>, HMAC and
/// EdDSA are refused: neither libtrust nor Microsoft.IdentityModel verify EdDSA). Signature and claim checks run in
/// Microsoft.IdentityModel's <see cref="JsonWebTokenHandler"/>.
/// </summary>
internal sealed class RegistryTokenValidator
{
    /// <summary>docker/distribution's leeway on <c>exp</c> and <c>nbf</c>.</summary>
    public static readonly TimeSpan Leeway = TimeSpan.FromSeconds(60);

    private static readonly Dictionary<string, string?> Curves = new(StringComparer.Ordinal)
    {
        ["ES256"] = ECCurve.NamedCurves.nistP256.Oid.Value,
        ["ES384"] = ECCurve.NamedCurves.nistP384.Oid.Value,
        ["ES512"] = ECCurve.NamedCurves.nistP521.Oid.Value,
    };

    private static readonly string[] DateClaims = ["exp", "nbf", "iat"];

    private static readonly HashSet<string> RsaAlgorithms = new(StringComparer.Ordinal) { "RS256", "RS384", "RS512" };

    private readonly string _issuer;
    private readonly string _service;
    private readonly X509Certificate2Collection _roots;
    private readonly Dictionary<string, X509Certificate2> _rootsByKeyId;
    private readonly TimeProvider _time;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    public RegistryTokenValidator(string issuer, string service, X509Certificate2Collection roots, TimeProvider time)
    {
        _issuer = issuer;
        _service = service;
        _roots = roots;
        _time = time;
        _rootsByKeyId = [];
        foreach (var root in roots)
        {
            _rootsByKeyId.TryAdd(LibtrustKeyId(root.PublicKey.ExportSubjectPublicKeyInfo()), root);
        }
    }

    /// <summary>Loads the bundle: every <c>CERTIFICATE</c> block (others ignored); at least one (spec auth.md §1).</summary>
    public static X509Certificate2Collection LoadBundle(string path)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(path);
        if (roots.Count == 0)
        {
            throw new InvalidOperationException($"Auth:Token:RootCertBundle '{path}' holds no certificate.");
        }

        return roots;
    }

    /// <summary>libtrust key ID: SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits, base32, groups of 4 joined by ':'.</summary>
    public static string LibtrustKeyId(byte[] subjectPublicKeyInfo)
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var hash = SHA256.HashData(subjectPublicKeyInfo).AsSpan(0, 30);
        var chars = new char[48];
        for (var i = 0; i < 48; i++)
        {
            var bit = i * 5;
            var value = ((hash[bit / 8] << 8) | (bit / 8 + 1 < hash.Length ? hash[bit / 8 + 1] : 0)) >> (11 - bit % 8) & 31;
            chars[i] = Alphabet[value];
        }

        return string.Join(':', Enumerable.Range(0, 12).Select(g => new string(chars, g * 4, 4)));
    }

    /// <summary>Whether <paramref name="chain"/> (leaf first) leads to a bundle certificate; the error otherwise.</summary>
    public string? VerifyChain(IReadOnlyList<X509Certificate2> chain)
    {
        if (chain.Count == 0)
        {
            return "empty x5c chain";
        }

        var leaf = chain[0];
        using var builder = new X509Chain();
        var policy = builder.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(_roots);
        foreach (var intermediate in chain.Skip(1))
        {
            policy.ExtraStore.Add(intermediate);
        }

        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.DisableCertificateDownloads = true;
        policy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        // Any extended key usage is accepted (docker/distribution verifies with ExtKeyUsageAny): no application policy.
        if (builder.Build(leaf))
        {
            return null;
        }

        var status = string.Join(", ", builder.ChainStatus.Select(s => s.Status).Distinct());
        return $"x5c chain does not verify against the root bundle ({status})";
    }

    /// <summary>Validates a token (the part after <c>Bearer </c>).</summary>
    public async Task<RegistryTokenCheck> ValidateAsync(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return RegistryTokenCheck.Fail("malformed token: not three parts");
        }

        if (Decode(parts[0]) is not JsonObject header || Decode(parts[1]) is not JsonObject claims)
        {
            return RegistryTokenCheck.Fail("malformed token: header or claims are not base64url JSON objects");
        }

        if (claims["aud"] is not JsonValue aud || aud.GetValueKind() != JsonValueKind.String)
        {
            // docker/distribution decodes aud into a Go string: an array or number is a malformed token.
            return RegistryTokenCheck.Fail("malformed token: aud is not a string");
        }

        // RFC 7519 §2: a NumericDate is a JSON number; Microsoft.IdentityModel would also read "exp":"9999999999".
        // docker/distribution decodes them into Go int64s, so a string is a malformed token there too.
        foreach (var name in DateClaims)
        {
            if (claims[name] is { } date && date.GetValueKind() != JsonValueKind.Number)
            {
                return RegistryTokenCheck.Fail($"malformed token: {name} is not a NumericDate (JSON number)");
            }
        }

        if (parts[2].Length == 0)
        {
            return RegistryTokenCheck.Fail("token has no signature");
        }

        var alg = header["alg"] is JsonValue a && a.GetValueKind() == JsonValueKind.String ? a.GetValue<string>() : string.Empty;
        if (!Curves.ContainsKey(alg) && !RsaAlgorithms.Contains(alg))
        {
            return RegistryTokenCheck.Fail($"signing algorithm '{Printable(alg)}' is not accepted");
        }

        var disposables = new List<IDisposable>();
        try
        {
            return await ValidateSignedAsync(token, header, claims, alg, disposables).ConfigureAwait(false);
        }
        finally
        {
            // Certificates decoded per request are released at once rather than by the finalizer.
            disposables.ForEach(d => d.Dispose());
        }
    }

    private async Task<RegistryTokenCheck> ValidateSignedAsync(string token, JsonObject header, JsonObject claims, string alg, List<IDisposable> disposables)
    {
        var (key, keyError) = SigningKey(header, alg, disposables);
        if (key is null)
        {
            return RegistryTokenCheck.Fail(keyError!);
        }

        var parameters = new TokenValidationParameters
        {
            ValidIssuer = _issuer,
            ValidAudience = _service,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            RequireAudience = true,
            ValidAlgorithms = [alg],
            IssuerSigningKeyResolver = (_, _, _, _) => [key],
            ValidateIssuerSigningKey = false, // the chain check above is the key's validation
            LifetimeValidator = (notBefore, expires, _, _) => LifetimeIsValid(notBefore, expires),
            ClockSkew = Leeway,
            SaveSigninToken = false,
        };
        var result = await _handler.ValidateTokenAsync(token, parameters).ConfigureAwait(false);
        if (!result.IsValid)
        {
            // Microsoft.IdentityModel hides personal data (and never the token) in its messages by default.
            return RegistryTokenCheck.Fail(result.Exception?.GetType().Name + ": " + result.Exception?.Message);
        }

        var access = ParseAccess(claims["access"]);
        if (access is null)
        {
            return RegistryTokenCheck.Fail("malformed token: access is not a list of {type, name, actions}");
        }

        var subject = claims["sub"] is JsonValue s && s.GetValueKind() == JsonValueKind.String ? s.GetValue<string>() : null;
        return new RegistryTokenCheck(new RegistryToken(subject, access, (JsonWebToken)result.SecurityToken), null);
    }

    // exp + leeway not in the past (a missing exp is 0: expired), nbf − leeway not in the future (spec auth.md §3).
    private bool LifetimeIsValid(DateTime? notBefore, DateTime? expires)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        return expires is { } exp && exp.ToUniversalTime() + Leeway >= now && (notBefore is not { } nbf || nbf.ToUniversalTime() - Leeway <= now);
    }

    private (SecurityKey? Key, string? Error) SigningKey(JsonObject header, string alg, List<IDisposable> disposables)
    {
        AsymmetricAlgorithm? publicKey;
        if (header["x5c"] is JsonArray x5c)
        {
            var chain = new List<X509Certificate2>();
            try
            {
                foreach (var entry in x5c)
                {
                    var certificate = X509CertificateLoader.LoadCertificate(Convert.FromBase64String(entry!.GetValue<string>()));
                    disposables.Add(certificate);
                    chain.Add(certificate);
                }
            }
            catch (Exception e) when (e is FormatException or CryptographicException or InvalidOperationException or NullReferenceException)
            {
                return (null, "malformed x5c certificate");
            }

            if (VerifyChain(chain) is { } error)
            {
                return (null, error);
            }

            publicKey = (AsymmetricAlgorithm?)chain[0].GetECDsaPublicKey() ?? chain[0].GetRSAPublicKey();
        }
        else if (header["kid"] is JsonValue kid && kid.GetValueKind() == JsonValueKind.String)
        {
            if (!_rootsByKeyId.TryGetValue(kid.GetValue<string>(), out var root))
            {
                return (null, "kid names no key of the root bundle");
            }

            publicKey = (AsymmetricAlgorithm?)root.GetECDsaPublicKey() ?? root.GetRSAPublicKey();
        }
        else
        {
            // An embedded jwk (without its own x5c) is not supported; docker/distribution's registry token servers send x5c.
            return (null, "token header names no key (x5c or kid)");
        }

        // The public key is not disposed here: Microsoft.IdentityModel caches signature providers by key thumbprint.
        // The key type must fit the algorithm, and an ECDSA curve its hash size (libtrust).
        return publicKey switch
        {
            ECDsa ec when Curves.TryGetValue(alg, out var curve) && ec.ExportParameters(false).Curve.Oid.Value == curve => (new ECDsaSecurityKey(ec), null),
            RSA rsa when RsaAlgorithms.Contains(alg) => (new RsaSecurityKey(rsa), null),
            null => (null, "unsupported signing key type"),
            _ => (null, $"signing key does not fit algorithm {alg}"),
        };
    }

    private static List<AccessEntry>? ParseAccess(JsonNode? node)
    {
        if (node is null)
        {
            return [];
        }

        if (node is not JsonArray array)
        {
            return null;
        }

        var entries = new List<AccessEntry>();
        foreach (var item in array)
        {
            if (item is not JsonObject o || Str(o["type"]) is not { } type || Str(o["name"]) is not { } name)
            {
                return null;
            }

            var actions = new List<string>();
            if (o["actions"] is JsonArray list)
            {
                foreach (var action in list)
                {
                    if (Str(action) is not { } text)
                    {
                        return null;
                    }

                    actions.Add(text);
                }
            }
            else if (o["actions"] is not null)
            {
                return null;
            }

            entries.Add(new AccessEntry(type, name, actions));
        }

        return entries;
    }

    private static string? Str(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    // base64url with or without '=' padding (spec auth.md §3), then JSON.
    private static JsonNode? Decode(string part)
    {
        try
        {
            var bytes = Base64Url.DecodeFromChars(part.TrimEnd('='));
            return JsonNode.Parse(bytes);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            return null;
        }
    }

    private static string Printable(string text) => text.Length > 16 || text.Any(char.IsControl) ? "?" : text;
}
