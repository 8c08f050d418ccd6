using System.Runtime.InteropServices;

namespace TrustServer.Signer.Hosting;

/// <summary>
/// notary-signer makes itself non-dumpable on Linux (<c>cmd/notary-signer/dump_linux.go</c>); the signer at least
/// turns core dumps off (RLIMIT_CORE = 0, soft and hard) so decrypted keys never land in a core file (spec signer.md §5).
/// PR_SET_DUMPABLE is not used: it also makes /proc/self root-owned, which .NET's diagnostics rely on.
/// </summary>
internal static partial class ProcessHardening
{
    private const int RlimitCore = 4; // Linux, all architectures .NET supports

    /// <summary>Disables core dumps on Linux; returns false (and changes nothing) elsewhere or when the call fails.</summary>
    public static bool DisableCoreDumps()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }

        var limit = new RLimit { Current = 0, Maximum = 0 };
        return SetRLimit(RlimitCore, in limit) == 0;
    }

    [LibraryImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, in RLimit limit);

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public nuint Current;
        public nuint Maximum;
    }
}
