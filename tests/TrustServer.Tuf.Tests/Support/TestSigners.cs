using System.Security.Cryptography;
using System.Text;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Tests.Support;

/// <summary>A plain <c>rsa</c> key (DER SubjectPublicKeyInfo) signing with <c>rsapss</c>, as a client could use for a delegation.</summary>
internal sealed class RsaKeySigner : IMetadataSigner, IDisposable
{
    private readonly RSA _rsa;

    public RsaKeySigner(int bits = 2048)
    {
        _rsa = RSA.Create(bits);
        PublicKey = new TufPublicKey(KeyType.Rsa, _rsa.ExportSubjectPublicKeyInfo());
    }

    public TufPublicKey PublicKey { get; }

    public TufSignature Sign(byte[] canonical) =>
        new(PublicKey.Id, SignatureMethod.RsaPss, _rsa.SignData(canonical, HashAlgorithmName.SHA256, RSASignaturePadding.Pss));

    public void Dispose() => _rsa.Dispose();
}

/// <summary>Signs correctly with the inner key but labels the signature with another method.</summary>
internal sealed class RelabelledSigner(IMetadataSigner inner, string method) : IMetadataSigner
{
    public TufPublicKey PublicKey => inner.PublicKey;

    public TufSignature Sign(byte[] canonical) => inner.Sign(canonical) with { Method = method };
}

/// <summary>An ECDSA key that writes its signatures ASN.1/DER-encoded instead of raw r‖s.</summary>
internal sealed class DerEcdsaSigner : IMetadataSigner, IDisposable
{
    private readonly ECDsa _ecdsa = ECDsa.Create();

    public DerEcdsaSigner(KeySigner key)
    {
        _ecdsa.ImportPkcs8PrivateKey(key.Key.ExportPkcs8(), out _);
        PublicKey = key.PublicKey;
    }

    public TufPublicKey PublicKey { get; }

    public TufSignature Sign(byte[] canonical) =>
        new(PublicKey.Id, SignatureMethod.Ecdsa, _ecdsa.SignHash(SHA256.HashData(canonical), DSASignatureFormat.Rfc3279DerSequence));

    public void Dispose() => _ecdsa.Dispose();
}

/// <summary>Hand-assembled metadata files.</summary>
internal static class Envelope
{
    /// <summary>The canonical body with exactly these signatures, in Notary's byte layout.</summary>
    public static byte[] Assemble(JsonObject body, params TufSignature[] signatures) =>
        SignedEnvelope.Assemble(CanonicalJson.Encode(body), signatures);

    /// <summary>The file with an extra member appended to the outer object (outside <c>signed</c>).</summary>
    public static byte[] WithOuterField(byte[] file, string name, string jsonValue)
    {
        var text = Encoding.UTF8.GetString(file);
        Assert.EndsWith("}", text, StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(text[..^1] + ",\"" + name + "\":" + jsonValue + "}");
    }

    /// <summary>
    /// A file whose <c>signed</c> value is NOT in canonical form (members in reverse order, whitespace, escaped
    /// strings) while the signatures cover the canonical form, and whose outer members are reordered too.
    /// </summary>
    public static byte[] NonCanonical(JsonObject body, params IMetadataSigner[] signers)
    {
        var canonical = CanonicalJson.Encode(body);
        var signatures = string.Join(" , ", signers.Select(s => s.Sign(canonical)).Select(s =>
            "{ \"sig\" : \"" + Convert.ToBase64String(s.Value) + "\" , \"method\" : \"" + s.Method + "\" , \"keyid\" : \"" + s.KeyId + "\" }"));
        return Encoding.UTF8.GetBytes("{\n  \"signatures\" : [ " + signatures + " ],\n  \"signed\" : " + Write(body) + "\n}\n");
    }

    private static string Write(JsonValue value) => value switch
    {
        JsonObject o => "{ " + string.Join(" , ", o.Members.Reverse().Select(m => Quote(m.Key) + " : " + Write(m.Value))) + " }",
        JsonArray a => "[ " + string.Join(" , ", a.Items.Select(Write)) + " ]",
        JsonString s => Quote(s.Value),
        JsonNumber n => n.Literal,
        JsonLiteral { Kind: JsonValueKind.Null } => "null",
        JsonLiteral l => l.BooleanValue ? "true" : "false",
        _ => throw new NotSupportedException(),
    };

    // System.Text.Json escapes non-ASCII and HTML-sensitive characters as \uXXXX, which a decoder must undo.
    private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text);
}
