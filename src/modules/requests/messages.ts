/** The message with a verification code, in the person's language. */
export function codeMessage(locale: 'en' | 'zh-CN', code: string, minutes: number): { subject: string; text: string } {
  if (locale === 'zh-CN') {
    return {
      subject: '您的验证码',
      text: `您的验证码是 ${code}，${minutes} 分钟内有效。如果您没有提出查询、更正、删除个人信息或退订的请求，请忽略本消息。`,
    };
  }
  return {
    subject: 'Your verification code',
    text: `Your verification code is ${code}. It expires in ${minutes} minutes. If you did not ask to see, correct or delete your data, or to stop marketing, ignore this message.`,
  };
}
