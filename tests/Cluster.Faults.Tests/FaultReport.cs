namespace Cluster.Faults.Tests;

/// <summary>
/// The fault tests' output, also appended to the file <c>CLUSTER_FAULTS_REPORT</c> names: <c>dotnet test</c> shows no
/// output of a test that passed, and the harness's counts belong in every run's log (<c>tests/run.sh</c> sets the
/// variable and prints the file before its summary).
/// </summary>
public sealed class FaultReport(ITestOutputHelper inner) : ITestOutputHelper
{
    public const string Variable = "CLUSTER_FAULTS_REPORT";

    private static readonly object FileGate = new();
    private bool headerWritten;

    public string Output => inner.Output;

    public void Write(string message)
    {
        inner.Write(message);
        Append(message);
    }

    public void Write(string format, params object[] args) => Write(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));

    public void WriteLine(string message)
    {
        inner.WriteLine(message);
        Append(message + Environment.NewLine);
    }

    public void WriteLine(string format, params object[] args) => WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));

    private void Append(string text)
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 } path)
        {
            return;
        }

        lock (FileGate)
        {
            if (!headerWritten)
            {
                File.AppendAllText(path, $"{TestContext.Current.Test?.TestDisplayName ?? "a fault test"}:{Environment.NewLine}");
                headerWritten = true;
            }

            File.AppendAllText(path, "  " + text.TrimEnd('\n').Replace("\n", "\n  ", StringComparison.Ordinal) + Environment.NewLine);
        }
    }
}
