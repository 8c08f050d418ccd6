using TrustServer.Data;
using TrustServer.Signer;
using TrustServer.Signing;
using TrustServer.Testing;
using TrustServer.Tuf;

namespace TrustServer.Signer.Tests.Logging;

/// <summary>The logging conventions (<see cref="LogEventConventions"/>) over the assemblies of the signer process.</summary>
public sealed class LogEventConventionTests
{
    [Fact]
    public void SignerProcessEventsHaveUniqueIdsAndPascalCaseProperties()
    {
        var assemblies = new[] { typeof(SignerHost), typeof(ISigningService), typeof(IMetadataStore), typeof(TufFormatException) }.Select(t => t.Assembly);
        Assert.Contains(LogEventConventions.Find(assemblies), e => e.Assembly == "TrustServer.Signer");
        var violations = LogEventConventions.Violations(assemblies);
        Assert.True(violations.Count == 0, string.Join(Environment.NewLine, violations));
    }
}
