using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using TrustServer.Server.Auth;
using TrustServer.Testing;

namespace TrustServer.Server.Tests.Auth;

/// <summary>Token validation as docker/distribution does it (spec auth.md §3): everything wrong is refused.</summary>
public sealed class RegistryTokenValidatorTests : IDisposable
{
    private const string Gun = "example.com/team/app";
    private static readonly string[] PushPull = ["push", "pull"];

    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;
    private readonly TestCertificate _root = TestCertificates.CreateCertificateAuthority("Token Root");
    private readonly TestCertificate _intermediate;
    private readonly TestCertificate _leaf;
    private readonly RegistryTokenValidator _validator;

    public RegistryTokenValidatorTests()
    {
        _intermediate = TestCertificates.CreateIntermediate(_root, "Token Intermediate");
        _leaf = TestCertificates.Create(new TestCertificateOptions { CommonName = "token signer" }, _intermediate);
        _validator = new RegistryTokenValidator("test-issuer", "notary-server", [_root.Certificate], new FixedTime(_now));
    }

    [Fact]
    public async Task Validate_CorrectEs256Token_AcceptedWithAccess()
    {
        var token = await AcceptedAsync(Good());
        Assert.Equal("alice", token.Subject);
        Assert.True(Grants(token, Gun, PushPull));
    }

    [Fact]
    public async Task Validate_Rs256TokenFromRsaLeaf_Accepted()
    {
        using var rsaLeaf = TestCertificates.Create(new TestCertificateOptions { KeyAlgorithm = TestKeyAlgorithm.Rsa }, _intermediate);
        await AcceptedAsync(TestTokens.Sign(TestTokens.Header("RS256", rsaLeaf, _intermediate), Claims(), rsaLeaf));
    }

    [Fact]
    public async Task Validate_KidNamingABundleKey_Accepted()
    {
        var header = new JsonObject { ["typ"] = "JWT", ["alg"] = "ES256", ["kid"] = RegistryTokenValidator.LibtrustKeyId(_root.Certificate.PublicKey.ExportSubjectPublicKeyInfo()) };
        await AcceptedAsync(TestTokens.Sign(header, Claims(), _root));
        header["kid"] = RegistryTokenValidator.LibtrustKeyId(_leaf.Certificate.PublicKey.ExportSubjectPublicKeyInfo());
        await RefusedAsync(TestTokens.Sign(header, Claims(), _leaf));
    }

    [Fact]
    public async Task Validate_WithinLeeway_Accepted()
    {
        var claims = Claims();
        claims["exp"] = _now.ToUnixTimeSeconds() - 30;
        claims["nbf"] = _now.ToUnixTimeSeconds() + 30;
        await AcceptedAsync(Sign(claims));
    }

    [Fact]
    public async Task Validate_Expired_Refused()
    {
        var claims = Claims();
        claims["exp"] = _now.ToUnixTimeSeconds() - 61;
        await RefusedAsync(Sign(claims));
        claims.Remove("exp");
        await RefusedAsync(Sign(claims));
    }

    [Theory]
    [InlineData("exp", "9999999999")]
    [InlineData("nbf", "0")]
    [InlineData("iat", "0")]
    public async Task Validate_DateClaimAsJsonString_Refused(string claim, string value)
    {
        // RFC 7519 NumericDate is a JSON number; the same token with numbers is accepted.
        var claims = Claims();
        await AcceptedAsync(Sign(claims));
        claims[claim] = value;
        await RefusedAsync(Sign(claims));
    }

    [Fact]
    public async Task Validate_NotYetValid_Refused()
    {
        var claims = Claims();
        claims["nbf"] = _now.ToUnixTimeSeconds() + 120;
        await RefusedAsync(Sign(claims));
    }

    [Fact]
    public async Task Validate_WrongIssuer_Refused()
    {
        var claims = Claims();
        claims["iss"] = "someone-else";
        await RefusedAsync(Sign(claims));
    }

    [Fact]
    public async Task Validate_WrongAudienceOrAudienceArray_Refused()
    {
        var claims = Claims();
        claims["aud"] = "other-service";
        await RefusedAsync(Sign(claims));
        claims["aud"] = new JsonArray("notary-server");
        await RefusedAsync(Sign(claims));
    }

    [Fact]
    public async Task Validate_BadSignature_Refused()
    {
        var parts = Good().Split('.');
        var forged = Claims();
        forged["access"]![0]!["name"] = "example.com/other/app";
        await RefusedAsync(parts[0] + "." + TestTokens.B64(forged) + "." + parts[2]);

        var signature = Convert.FromBase64String(Pad(parts[2]));
        signature[5] ^= 1;
        await RefusedAsync(parts[0] + "." + parts[1] + "." + TestTokens.B64(signature));
        await RefusedAsync(parts[0] + "." + parts[1] + ".");
    }

    [Fact]
    public async Task Validate_UntrustedChain_Refused()
    {
        // The intermediate is missing from x5c: the leaf cannot be chained to the root.
        await RefusedAsync(TestTokens.Sign(TestTokens.Header("ES256", _leaf), Claims(), _leaf));
        // A self-signed leaf not in the bundle.
        using var selfSigned = TestCertificates.Create(new TestCertificateOptions { CommonName = "self" });
        await RefusedAsync(TestTokens.Sign(TestTokens.Header("ES256", selfSigned), Claims(), selfSigned));
        // A trusted chain, but signed by a key that is not the leaf's.
        using var stranger = TestCertificates.Create(new TestCertificateOptions { CommonName = "stranger" }, _intermediate);
        await RefusedAsync(TestTokens.Sign(TestTokens.Header("ES256", _leaf, _intermediate), Claims(), stranger));
    }

    [Fact]
    public async Task Validate_ChainToAnotherRoot_Refused()
    {
        using var otherRoot = TestCertificates.CreateCertificateAuthority("Other Root");
        using var otherIntermediate = TestCertificates.CreateIntermediate(otherRoot);
        using var otherLeaf = TestCertificates.Create(new TestCertificateOptions(), otherIntermediate);
        await RefusedAsync(TestTokens.Sign(TestTokens.Header("ES256", otherLeaf, otherIntermediate, otherRoot), Claims(), otherLeaf));
    }

    [Fact]
    public async Task Validate_ExpiredLeafCertificate_Refused()
    {
        using var expired = TestCertificates.Create(new TestCertificateOptions { NotBefore = _now.AddDays(-10), NotAfter = _now.AddDays(-1) }, _intermediate);
        await RefusedAsync(TestTokens.Sign(TestTokens.Header("ES256", expired, _intermediate), Claims(), expired));
    }

    [Fact]
    public async Task Validate_AlgNone_Refused()
    {
        var header = TestTokens.Header("none", _leaf, _intermediate);
        await RefusedAsync(TestTokens.B64(header) + "." + TestTokens.B64(Claims()) + ".");
        var signed = Good().Split('.');
        await RefusedAsync(TestTokens.B64(header) + "." + signed[1] + "." + signed[2]);
    }

    [Fact]
    public async Task Validate_Hs256SignedWithThePublicKey_Refused()
    {
        var header = TestTokens.Header("HS256", _leaf, _intermediate);
        await RefusedAsync(TestTokens.SignHmac(header, Claims(), _leaf.Certificate.PublicKey.ExportSubjectPublicKeyInfo()));
        await RefusedAsync(TestTokens.SignHmac(header, Claims(), Encoding.ASCII.GetBytes(_leaf.Certificate.GetECDsaPublicKey()!.ExportSubjectPublicKeyInfoPem())));
        await RefusedAsync(TestTokens.SignHmac(header, Claims(), _leaf.Certificate.RawData));
    }

    [Fact]
    public async Task Validate_AlgorithmNotFittingKey_Refused()
    {
        // ES384 over a P-256 key; RS256 claimed over an ECDSA signature.
        await RefusedAsync(TestTokens.Sign(TestTokens.Header("ES384", _leaf, _intermediate), Claims(), _leaf));
        await RefusedAsync(TestTokens.Sign(TestTokens.Header("RS256", _leaf, _intermediate), Claims(), _leaf));
    }

    [Theory]
    [InlineData("")]
    [InlineData("abc")]
    [InlineData("a.b")]
    [InlineData("a.b.c")]
    [InlineData("e30.e30.e30.e30")]
    public async Task Validate_Malformed_Refused(string token) => await RefusedAsync(token);

    [Fact]
    public async Task Authorize_MissingAccess_Refused()
    {
        var claims = Claims();
        claims.Remove("access");
        var token = await AcceptedAsync(Sign(claims));
        Assert.False(Grants(token, Gun, ["pull"]));
    }

    [Fact]
    public async Task Authorize_TooNarrowAccess_Refused()
    {
        var token = await AcceptedAsync(Sign(Claims("pull")));
        Assert.True(Grants(token, Gun, ["pull"]));
        Assert.False(Grants(token, Gun, PushPull));

        // A required "*" (delete, key rotation) is met only by "*".
        var pushPull = await AcceptedAsync(Good());
        Assert.False(Grants(pushPull, Gun, ["*"]));
        var all = await AcceptedAsync(Sign(Claims("*")));
        Assert.True(Grants(all, Gun, ["*"]));
        Assert.True(Grants(all, Gun, PushPull));
    }

    [Fact]
    public async Task Authorize_ScopeForAnotherGun_Refused()
    {
        var token = await AcceptedAsync(Good());
        Assert.False(Grants(token, "example.com/team/other", ["pull"]));
        Assert.False(Grants(token, "example.com/team", ["pull"]));
        // A route without a GUN needs registry:catalog:*.
        Assert.False(AccessItem.Required(null, ["pull"]).All(r => AccessEntry.Covers(token.Access, r)));
    }

    [Fact]
    public void LibtrustKeyId_HasTwelveGroupsOfFourBase32()
    {
        var id = RegistryTokenValidator.LibtrustKeyId(_leaf.Certificate.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Matches("^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$", id);
    }

    private JsonObject Claims(params string[] actions) => TestTokens.Claims(_now, Gun, actions.Length == 0 ? PushPull : actions);

    private string Sign(JsonObject claims) => TestTokens.Sign(TestTokens.Header("ES256", _leaf, _intermediate), claims, _leaf);

    private string Good() => Sign(Claims());

    private static bool Grants(RegistryToken token, string gun, string[] actions) =>
        AccessItem.Required(gun, actions).All(r => AccessEntry.Covers(token.Access, r));

    private async Task<RegistryToken> AcceptedAsync(string token)
    {
        var check = await _validator.ValidateAsync(token);
        Assert.True(check.Token is not null, check.Error);
        return check.Token!;
    }

    private async Task RefusedAsync(string token)
    {
        var check = await _validator.ValidateAsync(token);
        Assert.Null(check.Token);
        Assert.False(string.IsNullOrEmpty(check.Error));
    }

    private static string Pad(string base64Url)
    {
        var text = base64Url.Replace('-', '+').Replace('_', '/');
        return text + new string('=', (4 - text.Length % 4) % 4);
    }

    public void Dispose()
    {
        _leaf.Dispose();
        _intermediate.Dispose();
        _root.Dispose();
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
