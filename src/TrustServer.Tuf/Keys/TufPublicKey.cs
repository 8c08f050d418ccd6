using System.Security.Cryptography;
using TrustServer.Tuf.Json;

namespace TrustServer.Tuf.Keys;

/// <summary>
/// A public key as it appears in metadata: <c>{"keytype":…,"keyval":{"private":null,"public":base64}}</c>.
/// Unknown key types are kept (they parse, but can never verify a signature).
/// </summary>
public sealed class TufPublicKey
{
    private string? _id;

    /// <summary>Creates a key from its type and the bytes inside <c>keyval.public</c>.</summary>
    public TufPublicKey(string keyType, byte[] publicBytes)
    {
        KeyType = keyType;
        Public = publicBytes;
    }

    /// <summary>The <c>keytype</c> string, verbatim.</summary>
    public string KeyType { get; }

    /// <summary>The decoded <c>keyval.public</c> bytes (DER SPKI, PEM text, or a raw Ed25519 key).</summary>
    public byte[] Public { get; }

    /// <summary>
    /// The key ID: lowercase hex SHA-256 of the canonical key object with <c>private</c> null
    /// (spec tuf-metadata.md §10).
    /// </summary>
    public string Id => _id ??= Convert.ToHexStringLower(SHA256.HashData(CanonicalJson.Encode(ToJson())));

    /// <summary>
    /// The canonical key ID used to look up private keys: for x509 types the ID of the plain key with the
    /// certificate's SubjectPublicKeyInfo, otherwise <see cref="Id"/>.
    /// </summary>
    public string CanonicalId
    {
        get
        {
            if (!Keys.KeyType.IsX509(KeyType))
            {
                return Id;
            }

            using var certificate = Pem.FirstCertificate(Public)
                ?? throw new TufFormatException($"key {Id} of type {KeyType} holds no certificate");
            var plainType = KeyType == Keys.KeyType.EcdsaX509 ? Keys.KeyType.Ecdsa : Keys.KeyType.Rsa;
            return new TufPublicKey(plainType, certificate.PublicKey.ExportSubjectPublicKeyInfo()).Id;
        }
    }

    /// <summary>The key object as JSON (the form that is hashed and embedded in metadata).</summary>
    public JsonObject ToJson() =>
        new JsonObject()
            .Set("keytype", new JsonString(KeyType))
            .Set("keyval", new JsonObject()
                .Set("private", JsonLiteral.Null())
                .Set("public", new JsonString(Convert.ToBase64String(Public))));

    /// <summary>Reads a key object; <c>keyval.private</c> is ignored.</summary>
    public static TufPublicKey FromJson(JsonValue value, string context)
    {
        var obj = JsonRead.Object(value, context);
        var keyType = JsonRead.String(obj, "keytype", context);
        var keyValue = JsonRead.OptionalObject(obj, "keyval", context);
        var publicBytes = keyValue is null ? [] : JsonRead.Base64(keyValue, "public", context + ".keyval");
        return new TufPublicKey(keyType, publicBytes);
    }
}
