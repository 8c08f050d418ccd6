using System.Text.Json;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Tests.Support;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Tests.Golden;

/// <summary>
/// Replays every upload the real notary client made through <see cref="UpdateValidator"/>, on the state the real
/// notary-server had stored, and checks that it is judged as the real server judged it. The server's private keys
/// live in the real notary-signer and are gone, so an accepted upload is followed up to the first server signature:
/// the body the validator asks to sign must equal the file the real server stored (all but the expiry).
/// </summary>
public sealed class GoldenReplayTests
{
    [Theory]
    [MemberData(nameof(GoldenData.ScenarioNames), MemberType = typeof(GoldenData))]
    public async Task EveryUpload_IsJudgedAsTheRealServerJudgedIt(string name)
    {
        var scenario = GoldenData.Scenario(name);
        var clock = new ManualTimeProvider(GoldenData.GeneratedAt);
        var validator = new UpdateValidator(clock);
        var current = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var highest = new Dictionary<string, long>(StringComparer.Ordinal);
        var (accepted, rejected) = (0, 0);

        foreach (var step in scenario.Steps)
        {
            // The state only advances between steps, so a step may not hold two POSTs.
            Assert.True(step.Uploads.Count <= 1, $"{step}: more than one upload");
            foreach (var upload in step.Uploads)
            {
                var state = new RepositoryState(new Dictionary<string, byte[]>(current), new Dictionary<string, long>(highest));
                var signer = new StoppingSigner();
                var files = upload.Files.Select(f => MetadataUpload.Parse(f.Role, f.Read())).ToList();
                if (upload.ResponseStatus == 200)
                {
                    Assert.True(step.ExpectSuccess, $"{step}: 200 for a step expected to fail");
                    var stop = await Assert.ThrowsAsync<StoppingSigner.SignatureRequested>(
                        () => validator.ValidateAsync(scenario.Gun, state, files, signer));
                    AssertSameAsServer(step, stop, clock.Now);
                    accepted++;
                }
                else
                {
                    Assert.False(step.ExpectSuccess, $"{step}: {upload.ResponseStatus} for a step expected to succeed");
                    var result = await validator.ValidateAsync(scenario.Gun, state, files, signer);
                    AssertSameRejection(step, upload, result);
                    Assert.Empty(signer.Requests);
                    rejected++;
                }
            }

            foreach (var stored in step.ServerNew)
            {
                current[stored.File.Role] = stored.File.Read();
                highest[stored.File.Role] = Math.Max(highest.GetValueOrDefault(stored.File.Role), stored.Version);
            }
        }

        Assert.True(accepted >= 9, $"{name}: only {accepted} accepted uploads replayed");
        Assert.Equal(name == "ecdsa" ? 3 : 0, rejected);
    }

    [Theory]
    [MemberData(nameof(GoldenData.ScenarioNames), MemberType = typeof(GoldenData))]
    public async Task UploadsWithABrokenSignature_AreRejectedForTheirRole(string name)
    {
        var scenario = GoldenData.Scenario(name);
        var validator = new UpdateValidator(new ManualTimeProvider(GoldenData.GeneratedAt));
        var current = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var highest = new Dictionary<string, long>(StringComparer.Ordinal);
        var checkedRoles = new HashSet<string>(StringComparer.Ordinal);

        foreach (var step in scenario.Steps)
        {
            foreach (var upload in step.Uploads.Where(u => u.ResponseStatus == 200))
            {
                var state = new RepositoryState(current, highest);
                foreach (var victim in upload.Files)
                {
                    var files = upload.Files
                        .Select(f => MetadataUpload.Parse(f.Role, f == victim ? BreakSignatures(f.Envelope()) : f.Read()))
                        .ToList();

                    var result = await validator.ValidateAsync(scenario.Gun, state, files, new StoppingSigner());

                    Assert.False(result.IsAccepted, $"{step}: {victim.Role} with broken signatures accepted");
                    var expected = victim.Role switch
                    {
                        RoleName.Root => ValidationErrorKind.BadRoot,
                        RoleName.Snapshot => ValidationErrorKind.BadSnapshot,
                        _ => ValidationErrorKind.BadTargets,
                    };
                    Assert.Equal(expected, result.Error!.Kind);
                    checkedRoles.Add(victim.Role);
                }
            }

            foreach (var stored in step.ServerNew)
            {
                current[stored.File.Role] = stored.File.Read();
                highest[stored.File.Role] = Math.Max(highest.GetValueOrDefault(stored.File.Role), stored.Version);
            }
        }

        Assert.Contains(RoleName.Root, checkedRoles);
        Assert.Contains(RoleName.Targets, checkedRoles);
        Assert.Contains("targets/releases", checkedRoles);
    }

    // Every signature of the file with its first byte flipped; the body is untouched.
    private static byte[] BreakSignatures(SignedEnvelope envelope) =>
        SignedEnvelope.Assemble(
            envelope.SignedSourceBytes.Span,
            envelope.Signatures.Select(s => s with { Value = [(byte)(s.Value[0] ^ 0x01), .. s.Value.AsSpan(1)] }));

    // The first server signature the validator asks for is the snapshot's when the real server generated one,
    // otherwise the timestamp's; its body matches the stored file but for the expiry, which is now + 3y / now + 14d.
    private static void AssertSameAsServer(GoldenStep step, StoppingSigner.SignatureRequested stop, DateTimeOffset now)
    {
        var serverSnapshot = step.ServerNew.Any(n => n.FromServer && n.File.Role == RoleName.Snapshot);
        var role = serverSnapshot ? RoleName.Snapshot : RoleName.Timestamp;
        Assert.Equal(role, stop.Role);
        var real = step.ServerNew.Single(n => n.File.Role == role);
        Assert.True(real.FromServer, $"{step}: {role} was not generated by the server");
        var realEnvelope = real.File.Envelope();

        var body = Assert.IsType<JsonObject>(JsonParser.Parse(stop.Body));
        Assert.Equal(
            CanonicalJson.Encode(GoldenData.WithoutExpiry(realEnvelope.Signed)),
            CanonicalJson.Encode(GoldenData.WithoutExpiry(body)));
        var expires = TufExpiry.Parse(Assert.IsType<JsonString>(body["expires"]).Value);
        Assert.Equal(role == RoleName.Snapshot ? now.AddDays(1095) : now.AddDays(14), expires.Instant);

        // The keys offered to the signer are the ones the real server signed with.
        Assert.Equal(
            realEnvelope.Signatures.Select(s => s.KeyId).Order(StringComparer.Ordinal),
            stop.Keys.Select(k => k.Id).Order(StringComparer.Ordinal));
    }

    // The real server's answer: 400 INVALID_UPDATE with {"Name": "Err…", "Error": {"Msg": "…"}} as detail.
    private static void AssertSameRejection(GoldenStep step, GoldenUpload upload, UpdateResult result)
    {
        Assert.False(result.IsAccepted, $"{step}: accepted, the real server answered {upload.ResponseStatus}");
        Assert.Empty(result.Files);
        Assert.Equal(400, upload.ResponseStatus);
        using var response = JsonDocument.Parse(upload.ResponseBody);
        var error = Assert.Single(response.RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal("INVALID_UPDATE", error.GetProperty("code").GetString());
        var detail = error.GetProperty("detail");
        Assert.Equal(detail.GetProperty("Name").GetString(), result.Error!.NotaryName);
        Assert.Equal(detail.GetProperty("Error").GetProperty("Msg").GetString(), result.Error.Message);
    }

    /// <summary>Records the first signing request and stops the validation there.</summary>
    private sealed class StoppingSigner : IServerSigner
    {
        public List<SignatureRequested> Requests { get; } = [];

        public ValueTask<IReadOnlyList<TufSignature>> SignAsync(
            string gun, string role, IReadOnlyList<TufPublicKey> keys, ReadOnlyMemory<byte> canonicalBody, CancellationToken cancellationToken)
        {
            var request = new SignatureRequested(role, keys, canonicalBody.ToArray());
            Requests.Add(request);
            throw request;
        }

        public sealed class SignatureRequested(string role, IReadOnlyList<TufPublicKey> keys, byte[] body)
            : Exception($"server signature requested for {role}")
        {
            public string Role { get; } = role;

            public IReadOnlyList<TufPublicKey> Keys { get; } = keys;

            public byte[] Body { get; } = body;
        }
    }
}
