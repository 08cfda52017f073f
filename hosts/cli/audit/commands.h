// The `kars audit` commands. Each takes the group's argv (argv[0] == "audit", argv[1] the
// command) and returns the process exit code.
#ifndef KARS_HOSTS_CLI_AUDIT_COMMANDS_H_
#define KARS_HOSTS_CLI_AUDIT_COMMANDS_H_

namespace kars::cli::audit {

int Keygen(int argc, char** argv);
int Append(int argc, char** argv);
int Show(int argc, char** argv);
int Checkpoint(int argc, char** argv);
int Prove(int argc, char** argv);
int Consistency(int argc, char** argv);
int Verify(int argc, char** argv);
int VerifyProof(int argc, char** argv);
int VerifyConsistency(int argc, char** argv);
int Cosign(int argc, char** argv);
int VerifyCosignature(int argc, char** argv);
int Retain(int argc, char** argv);

}  // namespace kars::cli::audit

#endif  // KARS_HOSTS_CLI_AUDIT_COMMANDS_H_
