using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Tests.Golden;

/// <summary>
/// Metadata written by the real notary 0.7.0 client and server (TestData/golden, made by generate.sh): every file
/// parses as its role, every key ID matches, every signature verifies, and re-encoding <c>signed</c> reproduces
/// the exact bytes of the file.
/// </summary>
public sealed class GoldenMetadataTests
{
    [Fact]
    public void Manifest_HoldsEveryScenarioWithFiles()
    {
        Assert.Equal(["ecdsa", "rsa", "ed25519"], GoldenData.Scenarios.Select(s => s.Name));
        Assert.All(GoldenData.Scenarios, s => Assert.True(s.AllFiles.Count() > 20, $"{s.Name} has too few files"));
        Assert.All(GoldenData.Scenarios.SelectMany(s => s.AllFiles), f => Assert.True(File.Exists(GoldenData.Resolve(f.Path)), f.Path));
    }

    [Theory]
    [MemberData(nameof(GoldenData.FilePaths), MemberType = typeof(GoldenData))]
    public void EveryFile_ParsesAsItsRole(string path)
    {
        var file = GoldenData.FileAt(path);
        var metadata = GoldenData.Typed(file);

        var expectedType = file.Role switch
        {
            RoleName.Root => MetadataType.Root,
            RoleName.Snapshot => MetadataType.Snapshot,
            RoleName.Timestamp => MetadataType.Timestamp,
            _ => MetadataType.Targets,
        };
        Assert.Equal(expectedType, metadata.Type);
        Assert.True(metadata.Version >= 1);
        Assert.NotEmpty(metadata.Envelope.Signatures);
    }

    [Theory]
    [MemberData(nameof(GoldenData.AcceptedFilePaths), MemberType = typeof(GoldenData))]
    public void EveryAcceptedFile_IsTheGoEncodingOfItsCanonicalBodyAndSignatures(string path)
    {
        var file = GoldenData.FileAt(path);
        var bytes = file.Read();
        var envelope = SignedEnvelope.Parse(bytes);

        // The signatures cover the canonical form; Go writes it with < > & U+2028 U+2029 escaped.
        Assert.Equal(GoldenData.GoHtmlEscape(envelope.CanonicalSigned), envelope.SignedSourceBytes.ToArray());
        Assert.Equal(bytes, SignedEnvelope.Assemble(GoldenData.GoHtmlEscape(envelope.CanonicalSigned), envelope.Signatures));
    }

    [Fact]
    public void EscapedTargetNames_AreCoveredRawByTheSignatures()
    {
        // Step 06 of scenario ecdsa adds targets whose names hold < > & and U+2028.
        var targets = GoldenData.Scenario("ecdsa").Steps.Single(s => s.Directory == "06-add-escaped-names")
            .Uploads.Single().Files.Single(f => f.Role == RoleName.Targets);
        var envelope = targets.Envelope();
        var stored = System.Text.Encoding.UTF8.GetString(envelope.SignedSourceBytes.Span);
        var canonical = System.Text.Encoding.UTF8.GetString(envelope.CanonicalSigned);

        Assert.Contains("\\u003c", stored, StringComparison.Ordinal);
        Assert.Contains("\\u0026", stored, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u003c", canonical, StringComparison.Ordinal);
        Assert.Contains('<', canonical);
        Assert.NotEqual(envelope.CanonicalSigned, envelope.SignedSourceBytes.ToArray());
    }

    [Theory]
    [MemberData(nameof(GoldenData.ScenarioNames), MemberType = typeof(GoldenData))]
    public void EveryKeyMap_IsKeyedByTheComputedKeyId(string name)
    {
        var scenario = GoldenData.Scenario(name);
        var checkedKeys = 0;
        var checkedCanonicalIds = 0;
        foreach (var file in scenario.AllFiles)
        {
            var (keys, roles) = GoldenData.Typed(file) switch
            {
                RootMetadata root => (root.Keys, root.Roles.Values.ToList()),
                TargetsMetadata targets => (targets.DelegationKeys, targets.DelegationRoles.ToList()),
                _ => (new Dictionary<string, TufPublicKey>(), new List<RoleKeys>()),
            };
            foreach (var (id, key) in keys)
            {
                Assert.Equal(id, key.Id);
                checkedKeys++;
                if (scenario.CanonicalRootKeyIds.TryGetValue(id, out var canonicalId))
                {
                    // notary key list shows x509 keys by the ID of their SubjectPublicKeyInfo.
                    Assert.Equal(canonicalId, key.CanonicalId);
                    checkedCanonicalIds++;
                }
            }

            // A root's roles only name keys it lists (delegations may name keys that were purged: keyids null/[]).
            if (file.Role == RoleName.Root)
            {
                Assert.All(roles.SelectMany(r => r.KeyIds), id => Assert.Contains(id, keys.Keys));
            }
        }

        Assert.True(checkedKeys > 10, $"only {checkedKeys} keys checked");
        Assert.True(checkedCanonicalIds >= 2, $"only {checkedCanonicalIds} x509 keys matched against notary key list");
    }

    [Theory]
    [InlineData("ecdsa", new[] { SignatureMethod.Ecdsa })]
    [InlineData("rsa", new[] { SignatureMethod.Ecdsa, SignatureMethod.RsaPss })]
    [InlineData("ed25519", new[] { SignatureMethod.Ecdsa, SignatureMethod.EdDsa })]
    public void EverySignature_VerifiesWithAKeyFromTheMetadata(string name, string[] expectedMethods)
    {
        var scenario = GoldenData.Scenario(name);
        var known = new Dictionary<string, TufPublicKey>(StringComparer.Ordinal);
        foreach (var metadata in scenario.AllFiles.Select(GoldenData.Typed))
        {
            var keys = metadata switch
            {
                RootMetadata root => root.Keys,
                TargetsMetadata targets => targets.DelegationKeys,
                _ => new Dictionary<string, TufPublicKey>(),
            };
            foreach (var (id, key) in keys)
            {
                known[id] = key;
            }
        }

        var methods = new HashSet<string>(StringComparer.Ordinal);
        var keyTypes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in scenario.AcceptedFiles)
        {
            var envelope = file.Envelope();
            foreach (var signature in envelope.Signatures)
            {
                Assert.True(known.TryGetValue(signature.KeyId, out var key), $"{file.Path}: signature by unknown key {signature.KeyId}");
                Assert.True(
                    SignatureVerifier.Verify(key, signature.Method, envelope.CanonicalSigned, signature.Value),
                    $"{file.Path}: {signature.Method} signature by {key.KeyType} key {signature.KeyId} does not verify");

                methods.Add(signature.Method);
                keyTypes.Add(key.KeyType);
            }
        }

        Assert.Equal(expectedMethods.Order(StringComparer.Ordinal), methods.Order(StringComparer.Ordinal));
        Assert.True(keyTypes.Count >= 2, string.Join(",", keyTypes));
    }

    [Theory]
    [MemberData(nameof(GoldenData.ScenarioNames), MemberType = typeof(GoldenData))]
    public void TamperedSignedBody_NoLongerVerifies(string name)
    {
        var file = GoldenData.Scenario(name).AllFiles.First(f => f.Role == RoleName.Root);
        var envelope = file.Envelope();
        var signature = envelope.Signatures[0];
        var key = RootMetadata.FromEnvelope(envelope).Keys[signature.KeyId];
        var tampered = (byte[])envelope.CanonicalSigned.Clone();
        var at = Array.LastIndexOf(tampered, (byte)'1');
        Assert.True(at > 0);
        tampered[at] = (byte)'2';

        Assert.True(SignatureVerifier.Verify(key, signature.Method, envelope.CanonicalSigned, signature.Value));
        Assert.False(SignatureVerifier.Verify(key, signature.Method, tampered, signature.Value));
        Assert.False(SignatureVerifier.Verify(key, signature.Method, CanonicalJson.Encode(GoldenData.WithoutExpiry(envelope.Signed)), signature.Value));
    }
}
